// Packs a package the way it will be published (`pnpm pack` rewrites workspace: ranges exactly as
// `pnpm publish` does) and checks what is inside the tarball.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import semver from 'semver';
import { run } from './run.mjs';
import { RUNTIME_DEP_FIELDS } from './workspace.mjs';

/** Files that must never be published: tests, test config, build state, local installs. */
const FORBIDDEN = [
  [/(^|\/)[^/]+\.(test|spec)\.[cm]?[jt]sx?(\.map)?$/, 'a test file'],
  [/(^|\/)[^/]+\.test\.d\.[cm]?ts(\.map)?$/, 'a test file'],
  [/(^|\/)__tests__\//, 'a test folder'],
  [/(^|\/)vitest\.config\./, 'test configuration'],
  [/(^|\/)(test-helpers|test-fixtures)\.(d\.)?[cm]?[jt]s(\.map)?$/, 'a test helper'],
  [/(^|\/)test-support\//, 'a test helper folder'],
  [/(^|\/)tsconfig[^/]*\.json$/, 'a tsconfig'],
  [/\.tsbuildinfo$/, 'TypeScript build state'],
  [/(^|\/)node_modules\//, 'node_modules'],
  [/(^|\/)\.turbo\//, 'turbo cache'],
];

/**
 * `pnpm pack` of one package into `destDir`, then unpacked beside it for inspection.
 * @returns {Promise<{ tarball: string, root: string, files: string[], manifest: any }>}
 */
export async function packPackage(pkg, destDir) {
  mkdirSync(destDir, { recursive: true });
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', destDir, '--json'], { cwd: pkg.dir });
  const tarball = JSON.parse(stdout.slice(stdout.indexOf('{'))).filename;
  const unpacked = join(destDir, `${pkg.name.replace('@', '').replace('/', '-')}-unpacked`);
  mkdirSync(unpacked, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', unpacked]);
  const root = join(unpacked, 'package');
  const files = listFiles(root);
  return { tarball, root, files, manifest: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) };
}

function listFiles(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    return e.isDirectory() ? listFiles(full, base) : [relative(base, full).split('\\').join('/')];
  });
}

/**
 * Checks a packed package: README and dist present, no tests, every entry point shipped, no workspace:
 * range left, internal ranges that the workspace versions satisfy.
 * @param {{ root: string, files: string[], manifest: any }} packed
 * @param {Map<string, string>} versions workspace package name -> version
 * @returns {import('./package-rules.mjs').Finding[]}
 */
export function checkPacked(packed, versions) {
  const { root, files, manifest } = packed;
  /** @type {import('./package-rules.mjs').Finding[]} */
  const out = [];
  const error = (message, fix) => out.push({ level: 'error', message, fix });
  const have = new Set(files);

  if (!have.has('README.md')) error('the tarball has no README.md');
  if (!files.some((f) => f.startsWith('dist/'))) error('the tarball has no dist/ (was the package built?)');
  for (const f of files) {
    const hit = FORBIDDEN.find(([re]) => re.test(f));
    if (hit) error(`the tarball ships ${hit[1]}: ${f}`, 'exclude it in "files" (e.g. "!dist/**/*.test.*") or in tsconfig.build.json');
  }
  for (const [where, target] of entryPoints(manifest)) {
    const rel = posix.normalize(target);
    if (!have.has(rel)) error(`${where} points to ${target}, which is not in the tarball`);
  }
  const text = readFileSync(join(root, 'package.json'), 'utf8');
  if (text.includes('workspace:')) error('the packed package.json still contains "workspace:" (it was not packed by pnpm?)');
  for (const field of RUNTIME_DEP_FIELDS) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      const version = versions.get(dep);
      if (version === undefined) continue;
      if (!semver.validRange(range)) error(`${field}["${dep}"] is published as "${range}", not a version range`);
      else if (!semver.satisfies(version, range)) error(`${field}["${dep}"] is published as "${range}", which excludes the workspace's ${dep}@${version}`);
    }
  }
  const missingSources = sourceMapsWithoutSources(root, files);
  if (missingSources.length > 0) {
    out.push({
      level: 'warning',
      message: `${missingSources.length} source map(s) point at sources that are not shipped (e.g. ${missingSources[0]}): "go to definition" lands in .d.ts, debuggers show no TS source`,
      fix: 'ship the sources ("files": [..., "src", "!src/**/*.test.ts"]) or build without declarationMap/sourceMap',
      kind: 'source-maps',
    });
  }
  return out;
}

/** Every file that package.json names as an entry: exports targets, types, main, module, bin. */
function entryPoints(manifest) {
  /** @type {[string, string][]} */
  const found = [];
  const walk = (where, v) => {
    if (typeof v === 'string') {
      if (!v.includes('*')) found.push([where, v]);
    } else if (v && typeof v === 'object') {
      for (const [k, sub] of Object.entries(v)) walk(`${where}["${k}"]`, sub);
    }
  };
  walk('exports', manifest.exports);
  for (const field of ['types', 'typings', 'main', 'module']) if (typeof manifest[field] === 'string') found.push([field, manifest[field]]);
  if (typeof manifest.bin === 'string') found.push(['bin', manifest.bin]);
  else walk('bin', manifest.bin);
  return found;
}

function sourceMapsWithoutSources(root, files) {
  const missing = [];
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    let map;
    try {
      map = JSON.parse(readFileSync(join(root, f), 'utf8'));
    } catch {
      continue;
    }
    if (map.sourcesContent?.every((s) => typeof s === 'string')) continue;
    for (const s of map.sources ?? []) {
      const target = join(dirname(join(root, f)), map.sourceRoot ?? '', s);
      if (!existsSync(target) || !statSync(target).isFile()) {
        missing.push(f);
        break;
      }
    }
  }
  return missing;
}
