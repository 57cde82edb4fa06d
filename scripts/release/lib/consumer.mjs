// A clean npm project outside the workspace that uses the published packages the way a user would: plain npm,
// @mha/* from the check's registry and everything else from the usual one, an ESM import of every entry point,
// a TypeScript program type-checked against the installed .d.ts, a vitest file using the conformance adapter,
// and the mha-conformance CLI against every installed backend.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import semver from 'semver';
import { run } from './run.mjs';

/** Test tools the consumer installs from the public registry (same majors as the workspace uses). */
export const CONSUMER_TOOLS = ['typescript@~5.9.3', '@types/node@^20.19.0', 'vitest@^4.1.0'];

/**
 * The environment of a user's shell: no npm_config_* / npm_package_* / npm_lifecycle_* leaking in from the
 * `pnpm run` that started the check.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_config_|npm_package_|npm_lifecycle_|npm_command|npm_execpath|npm_node_execpath|pnpm_)/i.test(k)) continue;
    if (k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * What the root README's "Install from npm" tells users of @mha/backend-onnxruntime with an npm that has no
 * `allowScripts` (npm 10): onnxruntime-node's postinstall then exits at once instead of fetching CUDA add-ons
 * from api.nuget.org (its CPU binaries ship in the npm package). Every other install script runs, as under
 * plain npm defaults.
 */
export const INSTALL_ENV = { ONNXRUNTIME_NODE_INSTALL: 'skip' };

/**
 * Whether the npm on PATH has the `allowScripts` policy (npm 11.19.1 does; npm 10 answers `undefined` for the
 * setting and ignores the package.json field).
 */
async function npmHasAllowScripts(dir) {
  const got = (await run('npm', ['config', 'get', 'strict-allow-scripts'], { cwd: dir, env: cleanEnv() })).stdout.trim();
  return got === 'true' || got === 'false';
}

/** How the project keeps onnxruntime-node's postinstall off the network: see {@link createConsumer}. */
export function scriptPolicy(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return pkg.allowScripts?.['onnxruntime-node'] === false ? 'package.json allowScripts denies onnxruntime-node' : 'ONNXRUNTIME_NODE_INSTALL=skip';
}

/**
 * Creates the project: `npm init -y`, ESM, and an .npmrc that sends only the @mha scope to the check's
 * registry. Install scripts stay on (npm's default) except onnxruntime-node's, as the root README says: with
 * an npm that has `allowScripts`, the user's one-time `npm pkg set allowScripts.onnxruntime-node=false --json`
 * (kept in package.json, so `npm ci` honours it too, no environment needed); otherwise {@link INSTALL_ENV}.
 */
export async function createConsumer(dir, registryUrl) {
  mkdirSync(dir, { recursive: true });
  for (let d = dirname(dir); ; d = dirname(d)) {
    // A package.json or node_modules above the project would leak into resolution: the check must not pass
    // because of files that a user would not have.
    if (existsSync(join(d, 'node_modules')) || existsSync(join(d, 'package.json'))) {
      throw new Error(`${d} has a package.json or node_modules above the clean project; set TMPDIR elsewhere`);
    }
    if (dirname(d) === d) break;
  }
  await run('npm', ['init', '-y'], { cwd: dir, env: cleanEnv() });
  const pkgPath = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  writeFileSync(pkgPath, `${JSON.stringify({ ...pkg, private: true, type: 'module' }, null, 2)}\n`);
  if (await npmHasAllowScripts(dir)) await run('npm', ['pkg', 'set', 'allowScripts.onnxruntime-node=false', '--json'], { cwd: dir, env: cleanEnv() });
  const host = new URL(registryUrl).host;
  writeFileSync(
    join(dir, '.npmrc'),
    [
      `@mha:registry=${registryUrl}`,
      `//${host}/:always-auth=false`,
      'audit=false',
      'fund=false',
      'update-notifier=false',
      // Keep the registry of every package in the lockfile, so the check can see where @mha/* came from.
      'omit-lockfile-registry-resolved=false',
      '',
    ].join('\n'),
  );
  const settings = [['@mha:registry', registryUrl], ['ignore-scripts', 'false'], ['registry', undefined]];
  for (const [key, want] of settings) {
    const got = (await run('npm', ['config', 'get', key], { cwd: dir, env: cleanEnv() })).stdout.trim();
    if (want !== undefined && got.replace(/\/?$/, key.endsWith('registry') ? '/' : '') !== want) throw new Error(`npm config get ${key} in the clean project says ${got}, not ${want}`);
    if (want === undefined && got.includes(new URL(registryUrl).host)) throw new Error(`the clean project's default registry is the check's registry (${got}): only @mha/* should come from it`);
  }
}

/**
 * `npm install` of the given package specs (and the test tools as devDependencies), then proves where each
 * @mha/* package came from and that npm sees no invalid or missing peer.
 * @param {string[]} specs e.g. ['@mha/core@1.0.0', ...]
 */
export async function installPackages(dir, registryUrl, specs, { tools = true } = {}) {
  const env = scriptPolicy(dir) === 'ONNXRUNTIME_NODE_INSTALL=skip' ? cleanEnv(INSTALL_ENV) : cleanEnv();
  await run('npm', ['install', '--save-exact', ...specs], { cwd: dir, env });
  if (tools) await run('npm', ['install', '--save-dev', ...CONSUMER_TOOLS], { cwd: dir, env });
  await run('npm', ['ls', '--all'], { cwd: dir, env });
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const problems = [];
  /** @type {Map<string, Set<string>>} */
  const installed = new Map();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!name.startsWith('@mha/')) continue;
    if (!String(entry.resolved ?? '').startsWith(registryUrl)) problems.push(`${path} was resolved from ${entry.resolved ?? '(unknown)'}, not ${registryUrl}`);
    if (!installed.has(name)) installed.set(name, new Set());
    installed.get(name).add(entry.version);
  }
  for (const [name, versions] of installed) {
    if (versions.size > 1) problems.push(`${name} is installed in ${versions.size} versions (${[...versions].join(', ')}): the ranges do not let npm share one copy`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return installed;
}

/** The package's entry points as import specifiers: '@mha/x', '@mha/x/sub' (package.json exports skipped). */
export function entrySpecifiers(dir, name) {
  const json = JSON.parse(readFileSync(join(dir, 'node_modules', ...name.split('/'), 'package.json'), 'utf8'));
  const subpaths = json.exports ? Object.keys(json.exports) : ['.'];
  // `./worker-*` exports are worker scripts (backend-ts's, for bundlers to emit): started as workers, never imported.
  return subpaths.filter((s) => !s.endsWith('package.json') && !s.includes('*') && !s.startsWith('./worker-')).map((s) => (s === '.' ? name : `${name}/${s.slice(2)}`));
}

const PROBE = `// Written by the release check: imports every entry point as a user's ESM code would.
const specs = JSON.parse(process.argv[2]);
const isBackend = (v) => typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.createModule === 'function' && typeof v.attention === 'function' && Array.isArray(v.capabilities);
const out = [];
for (const spec of specs) {
  try {
    const m = await import(spec);
    const backends = [];
    for (const [key, v] of Object.entries(m)) {
      if (isBackend(v)) backends.push({ key, kind: 'one', names: [v.name] });
      else if (Array.isArray(v) && v.length > 0 && v.every(isBackend)) backends.push({ key, kind: 'list', names: v.map((b) => b.name) });
    }
    out.push({ spec, ok: true, exports: Object.keys(m).sort(), backends, resolved: import.meta.resolve(spec) });
  } catch (e) {
    out.push({ spec, ok: false, error: String(e && e.stack || e).split('\\n').slice(0, 4).join('\\n') });
  }
}
console.log(JSON.stringify(out));
`;

/**
 * Imports every entry point of the installed packages with plain Node ESM, from the project folder.
 * @returns {Promise<{ spec: string, ok: boolean, exports?: string[], backends?: { key: string, kind: 'one' | 'list', names: string[] }[], resolved?: string, error?: string }[]>}
 */
export async function probeImports(dir, specs) {
  writeFileSync(join(dir, 'probe.mjs'), PROBE);
  const { stdout } = await run(process.execPath, ['probe.mjs', JSON.stringify(specs)], { cwd: dir, env: cleanEnv() });
  const results = JSON.parse(stdout.trim().split('\n').pop());
  for (const r of results) {
    if (r.ok && !r.resolved.includes(`${sep}node_modules${sep}`.split(sep).join('/'))) {
      r.ok = false;
      r.error = `resolved to ${r.resolved}, outside the project's node_modules`;
    }
  }
  return results;
}

/**
 * Writes a TypeScript program that imports every entry point and assigns each backend export to core's
 * MhaBackend type (so the installed backends' declarations must agree with the installed core's), then type-checks
 * it with the two resolution modes users have: NodeNext and bundler. Declarations are checked too (skipLibCheck
 * off, lib ES2022 and Node's types, no DOM): any error fails, including one inside a third-party .d.ts that our
 * declarations reach (a user with skipLibCheck off would see it through our import).
 * @returns {Promise<string[]>} notes (none since third-party errors fail too; kept for the caller)
 */
export async function typecheck(dir, probes) {
  const lines = ["// Written by the release check: the published types as a TypeScript user sees them.", "import type { MhaBackend } from '@mha/core';", ''];
  probes.forEach((p, i) => {
    lines.push(`import * as m${i} from '${p.spec}';`);
  });
  lines.push('');
  probes.forEach((p, i) => {
    lines.push(`export const entry${i}: object = m${i};`);
    for (const b of p.backends ?? []) {
      lines.push(b.kind === 'one' ? `export const ${ident(p.spec, b.key)}: MhaBackend = m${i}.${b.key};` : `export const ${ident(p.spec, b.key)}: readonly MhaBackend[] = m${i}.${b.key};`);
    }
  });
  writeFileSync(join(dir, 'types-check.ts'), `${lines.join('\n')}\n`);
  const common = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', lib: ['ES2022'], types: ['node'], verbatimModuleSyntax: true };
  writeFileSync(join(dir, 'tsconfig.nodenext.json'), JSON.stringify({ compilerOptions: { ...common, module: 'NodeNext', moduleResolution: 'NodeNext' }, files: ['types-check.ts'] }, null, 2));
  writeFileSync(join(dir, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...common, module: 'ESNext', moduleResolution: 'bundler' }, files: ['types-check.ts'] }, null, 2));
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const notes = new Set();
  const failures = [];
  for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
    const { code, output } = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: dir, env: cleanEnv(), allowFailure: true });
    if (code === 0) continue;
    const errors = output.split('\n').filter((l) => /^\S.*\(\d+,\d+\): error TS/.test(l));
    failures.push(`${config}:\n${(errors.length ? errors : output.trim().split('\n')).slice(0, 30).join('\n')}`);
  }
  if (failures.length > 0) throw new Error(failures.join('\n'));
  return [...notes].sort();
}

function ident(spec, key) {
  return `${spec.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_/, '')}_${key}`;
}

/**
 * A backend author's test file: the conformance suite through `@mha/conformance/vitest`, run by the installed
 * vitest against one backend export of `backendPackage`.
 */
export async function runVitestAdapter(dir, backendPackage, exportKey) {
  writeFileSync(
    join(dir, 'conformance.test.mjs'),
    `import { describeConformance } from '@mha/conformance/vitest';\nimport { ${exportKey} } from '${backendPackage}';\n\ndescribeConformance(${exportKey});\n`,
  );
  const vitest = join(dir, 'node_modules', 'vitest', 'vitest.mjs');
  const { output } = await run(process.execPath, [vitest, 'run', 'conformance.test.mjs'], { cwd: dir, env: cleanEnv({ CI: 'true' }) });
  const summary = /Tests\s+(.*\(\d+\))/.exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
  return summary ? summary[1].trim() : 'passed';
}

/**
 * Runs the installed `mha-conformance` bin (through npx, as a user would) against one backend package.
 * @returns {Promise<{ code: number | null, totals: string }>}
 */
export async function runConformance(dir, backendPackage) {
  const { code, output } = await run('npx', ['--no-install', 'mha-conformance', '--backend', backendPackage], { cwd: dir, env: cleanEnv(), allowFailure: true });
  const totals = /^conformance: (.+)$/m.exec(output)?.[1] ?? '(no totals line)';
  return { code, totals, output };
}

/** Whether `range` (as published) admits `version`. */
export function admits(range, version) {
  return semver.validRange(range) !== null && semver.satisfies(version, range);
}
