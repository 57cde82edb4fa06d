import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MhaBackend } from '@mha/core';

/** Duck-typed check for the {@link MhaBackend} contract (works across copies of @mha/core). */
export function isBackend(v: unknown): v is MhaBackend {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Partial<MhaBackend>;
  return typeof b.name === 'string' && typeof b.createModule === 'function' && typeof b.attention === 'function' && Array.isArray(b.capabilities);
}

/** Resolves a package name (from `cwd`) or a file path to an importable URL. */
export function resolveModule(spec: string, cwd = process.cwd()): string {
  if (spec.startsWith('.') || isAbsolute(spec)) {
    const path = resolve(cwd, spec);
    return pathToFileURL(existsSync(join(path, 'package.json')) ? packageEntry(path) : path).href;
  }
  const require = createRequire(join(cwd, 'noop.js'));
  try {
    return pathToFileURL(require.resolve(spec)).href;
  } catch (e) {
    // `packages/my-backend` without a leading `./`: a directory here, not a package name.
    if (existsSync(join(cwd, spec, 'package.json'))) return pathToFileURL(packageEntry(resolve(cwd, spec))).href;
    throw e;
  }
}

/** The condition keys an `exports` target is read through, in Node's order for an ESM import. */
const CONDITIONS = ['node', 'import', 'default'];

function exportTarget(t: unknown): string | undefined {
  if (typeof t === 'string') return t;
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return undefined;
  for (const c of CONDITIONS) {
    const r = exportTarget((t as Record<string, unknown>)[c]);
    if (r) return r;
  }
  return undefined;
}

/**
 * The entry file of a backend package directory (what an author passes as `--backend ./my-backend`):
 * its `mhaConformance.module` (the first, when it lists several), else its `exports['.']` (node/import/default
 * conditions), else `main`, else `index.js`. A directory cannot be imported as such by ESM.
 */
export function packageEntry(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { mhaConformance?: { module?: string | string[] }; exports?: unknown; main?: string };
  const exp = typeof pkg.exports === 'object' && pkg.exports !== null && '.' in pkg.exports ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
  const entry = [pkg.mhaConformance?.module ?? []].flat()[0] ?? exportTarget(exp) ?? pkg.main ?? 'index.js';
  const file = resolve(dir, entry);
  if (!existsSync(file)) throw new Error(`${dir}: its package entry ${entry} does not exist (is the package built?)`);
  return file;
}

/**
 * Imports a module and collects the backends it offers, in this order of preference:
 * an export `backends` (array, or a function returning one, possibly async); a default export that is
 * a backend or an array of them; otherwise every named export that is a backend.
 */
export async function loadBackends(spec: string, cwd?: string): Promise<MhaBackend[]> {
  const mod = (await import(resolveModule(spec, cwd))) as Record<string, unknown>;
  let found: unknown = mod.backends;
  if (typeof found === 'function') found = await (found as () => unknown)();
  if (found === undefined && mod.default !== undefined) found = Array.isArray(mod.default) ? mod.default : [mod.default];
  const list = Array.isArray(found) ? found : Object.values(mod);
  const backends = list.filter(isBackend);
  if (backends.length === 0) throw new Error(`${spec} exports no backend (expected an MhaBackend export, a default export, or 'backends')`);
  return backends;
}

/**
 * Backend modules of a repository checkout rooted at `root`: every
 * package under packages/ or examples/ whose package.json has `mhaConformance.module` (one module
 * path, or a list when the package has several entry points with backends, e.g. `./web`).
 */
export function repoBackendModules(root: string): string[] {
  const dirs = ['packages', 'examples'].map((d) => join(root, d)).filter((d) => existsSync(d));
  const found: string[] = [];
  for (const parent of dirs) {
    for (const name of readdirSync(parent).sort()) {
      const pkgPath = join(parent, name, 'package.json');
      if (!existsSync(pkgPath)) continue;
      const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { mhaConformance?: { module?: string | string[] } };
      for (const module of [pkg.mhaConformance?.module ?? []].flat()) found.push(join(parent, name, module));
    }
  }
  if (found.length === 0) throw new Error(`no package with mhaConformance.module found under ${root}`);
  return found;
}


/**
 * The checkout of this repository that this copy of @mha/conformance belongs to, or undefined when it
 * runs from an installed package (node_modules). Identified by the workspace file next to conformance/.
 */
export function ownRepoRoot(): string | undefined {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const pkg = join(root, 'conformance', 'package.json');
  if (!existsSync(join(root, 'pnpm-workspace.yaml')) || !existsSync(pkg)) return undefined;
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === '@mha/conformance' ? root : undefined;
}

/**
 * The repository's own backend packages: directories under `<root>/packages/` whose package.json has
 * `mhaConformance.module`. examples/ is not included: the template stands for a third-party backend.
 */
export function repoBackendPackageDirs(root: string | undefined = ownRepoRoot()): string[] {
  if (!root || !existsSync(join(root, 'packages'))) return [];
  return readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name))
    .filter((dir) => {
      const pkgPath = join(dir, 'package.json');
      return existsSync(pkgPath) && Boolean((JSON.parse(readFileSync(pkgPath, 'utf8')) as { mhaConformance?: { module?: string | string[] } }).mhaConformance?.module);
    })
    .map((dir) => realpathSync(dir));
}

/**
 * True when `path` (a module file or a package directory) lies inside one of this repository's own
 * backend packages, so the repo's per-backend profile (tolerance, expectations) applies to it.
 */
export function isRepoBackendPath(path: string, root: string | undefined = ownRepoRoot()): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  return repoBackendPackageDirs(root).some((dir) => real === dir || real.startsWith(dir + sep));
}
