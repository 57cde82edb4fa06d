// What every published package.json must declare (issue: "Publish versioned packages for real"). Each problem
// comes with the exact change that fixes it, so the report doubles as a to-do list for the package owners.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIME_DEP_FIELDS } from './workspace.mjs';

/** @typedef {{ level: 'error' | 'warning', message: string, fix?: string, kind?: string }} Finding */

/** The git URL the root package.json declares, or undefined while the project has no public remote. */
export function rootRepositoryUrl(rootJson) {
  const repo = rootJson.repository;
  if (typeof repo === 'string') return repo;
  return repo?.url;
}

/**
 * Checks one published package's manifest and folder (before packing).
 * @param {import('./workspace.mjs').WorkspacePackage} pkg
 * @param {{ rootJson: any }} ctx
 * @returns {Finding[]}
 */
export function checkManifest(pkg, { rootJson }) {
  const j = pkg.json;
  /** @type {Finding[]} */
  const out = [];
  const error = (message, fix) => out.push({ level: 'error', message, fix });
  const warning = (message, fix, kind) => out.push({ level: 'warning', message, fix, kind });

  if (!j.name?.startsWith('@mha/')) error(`name ${j.name} is not in the @mha scope (published packages are @mha/*)`);
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(j.version ?? '')) error(`version ${j.version} is not a semver version`);
  if (!j.description) warning('no "description" (shown by npm search and the registry page)', '"description": "<one sentence>"');
  if (j.type !== 'module') error('"type" is not "module": the packages are ESM only', '"type": "module"');

  if (typeof j.exports !== 'object' || j.exports === null || Array.isArray(j.exports)) {
    error('no "exports" map', '"exports": { ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" }, "./package.json": "./package.json" }');
  } else {
    for (const [subpath, target] of Object.entries(j.exports)) {
      if (!subpath.startsWith('.')) {
        error(`"exports" must map subpaths ("." ...), found the condition "${subpath}" at the top`);
        continue;
      }
      if (subpath.endsWith('package.json') || typeof target === 'string') continue;
      const keys = Object.keys(target ?? {});
      if (keys[0] !== 'types') error(`exports["${subpath}"] must list "types" first (TypeScript takes the first matching condition)`);
      if (!keys.includes('default') && !keys.includes('import')) error(`exports["${subpath}"] has no "default" or "import" target`);
    }
    if (!('./package.json' in j.exports)) warning('exports has no "./package.json" (tools that read it fail)', '"./package.json": "./package.json" in "exports"');
  }
  if (!j.types) error('no top-level "types" (older tools and moduleResolution node10 read it)', '"types": "./dist/index.d.ts"');
  if (!Array.isArray(j.files) || !j.files.some((f) => f === 'dist' || f.startsWith('dist/'))) {
    error('"files" does not list dist', '"files": ["dist", "!dist/**/*.test.*", "README.md"]');
  }
  if (j.sideEffects === undefined) error('no "sideEffects" (bundlers cannot tree-shake)', '"sideEffects": false');
  if (!j.engines?.node) error('no "engines.node"', `"engines": { "node": "${rootJson.engines?.node ?? '>=20'}" }`);
  else if (rootJson.engines?.node && j.engines.node !== rootJson.engines.node) {
    warning(`engines.node is "${j.engines.node}", the root says "${rootJson.engines.node}"`);
  }
  if (!j.license) error('no "license"', '"license": "MIT"');
  if (!existsSync(join(pkg.dir, 'README.md'))) error('no README.md in the package folder (npm shows it on the package page)', `add ${pkg.rel}/README.md`);
  if (!['LICENSE', 'LICENSE.md', 'LICENCE', 'LICENSE.txt'].some((f) => existsSync(join(pkg.dir, f)))) {
    warning(`no LICENSE file in the package folder: the ${j.license ?? ''} text is not shipped (npm packs only a LICENSE that sits in the package folder)`, `add ${pkg.rel}/LICENSE (the ${j.license ?? 'license'} text with its copyright line)`, 'license-file');
  }

  checkRepository(pkg, rootJson, error, warning);

  if (j.publishConfig?.access !== 'public') {
    warning('no "publishConfig.access": "public" (changesets passes --access public; a plain `pnpm publish` of a new scoped package would not)', '"publishConfig": { "access": "public" }', 'publish-access');
  }
  if (j.publishConfig?.registry) warning(`publishConfig.registry is ${j.publishConfig.registry}: publishing should follow the maintainer's npm config`);

  for (const field of [...RUNTIME_DEP_FIELDS, 'devDependencies']) {
    for (const [dep, range] of Object.entries(j[field] ?? {})) {
      if (!dep.startsWith('@mha/')) continue;
      if (!String(range).startsWith('workspace:')) {
        error(`${field}["${dep}"] is "${range}": internal dependencies use the workspace protocol`, `"${dep}": "workspace:^"`);
      } else if (field === 'peerDependencies' && range === 'workspace:*') {
        warning(`peerDependencies["${dep}"] is "workspace:*", published as an exact version: users could not take a compatible update`, `"${dep}": "workspace:^"`);
      }
    }
  }
  return out;
}

/**
 * The repository policy: the root package.json is the single place that names the git remote. Once it does,
 * every package must point at the same URL with its own `directory`; until then a missing `repository` is only
 * a warning, because any URL written now would be made up.
 */
function checkRepository(pkg, rootJson, error, warning) {
  const rootUrl = rootRepositoryUrl(rootJson);
  const repo = pkg.json.repository;
  const want = (url) => `"repository": { "type": "git", "url": "${url}", "directory": "${pkg.rel}" }`;
  if (!rootUrl) {
    if (!repo) {
      warning('no "repository" (the project has no public git remote yet; the root package.json does not declare one)', `once the root declares it: ${want('<root repository.url>')}`, 'repository-pending');
    } else {
      warning('"repository" is set but the root package.json does not declare the remote: declare it there once, so every package agrees');
    }
    return;
  }
  if (!repo || typeof repo === 'string') {
    error('no "repository" object', want(rootUrl));
    return;
  }
  if (repo.url !== rootUrl) error(`repository.url is ${repo.url}, the root says ${rootUrl}`, want(rootUrl));
  if (repo.directory !== pkg.rel) error(`repository.directory is ${repo.directory}, the package lives in ${pkg.rel}`, want(rootUrl));
}
