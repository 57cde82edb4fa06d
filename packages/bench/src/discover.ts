import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MhaBackend } from '@mha/core';

/** The repository this package was built in (packages/bench/dist -> repo root). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** A backend module found in the repository. */
export interface RepoModule {
  /** Absolute path of the module file. */
  readonly module: string;
  /** The package it belongs to. */
  readonly packageName: string;
  /** The package directory. */
  readonly dir: string;
}

/**
 * Backend modules of the repository, found the way `pnpm conformance` finds them: every package
 * under packages/ or examples/ whose package.json names a module (or a list of them) in `mhaConformance.module`.
 */
export function repoBackendModules(root = repoRoot()): RepoModule[] {
  const found: RepoModule[] = [];
  for (const parent of ['packages', 'examples'].map((d) => join(root, d)).filter((d) => existsSync(d))) {
    for (const name of readdirSync(parent).sort()) {
      const dir = join(parent, name);
      const pkgPath = join(dir, 'package.json');
      if (!existsSync(pkgPath)) continue;
      const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { name?: string; mhaConformance?: { module?: string | string[] } };
      for (const module of [pkg.mhaConformance?.module ?? []].flat()) found.push({ module: join(dir, module), packageName: pkg.name ?? name, dir });
    }
  }
  return found;
}

/** Duck-typed {@link MhaBackend} check, so a backend built against another copy of @mha/core still counts. */
export function isBackend(v: unknown): v is MhaBackend {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Partial<MhaBackend>;
  return typeof b.name === 'string' && typeof b.createModule === 'function' && Array.isArray(b.capabilities);
}

/** A package name (resolved from `cwd`) or a file path, as an importable URL. */
export function moduleUrl(spec: string, cwd = process.cwd()): string {
  if (spec.startsWith('.') || isAbsolute(spec)) return pathToFileURL(resolve(cwd, spec)).href;
  return pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(spec)).href;
}

/**
 * The backends a module offers: its `backends` export (an array, or a possibly async function returning
 * one); else a default export (a backend or an array of them); else every named export that is a backend.
 * Duplicate names keep the first.
 */
export async function loadBackends(spec: string, cwd?: string): Promise<MhaBackend[]> {
  const mod = (await import(moduleUrl(spec, cwd))) as Record<string, unknown>;
  let list: unknown = mod.backends;
  if (typeof list === 'function') list = await (list as () => unknown)();
  if (list === undefined && mod.default !== undefined) list = Array.isArray(mod.default) ? mod.default : [mod.default];
  const candidates = Array.isArray(list) ? (list as unknown[]) : Object.values(mod);
  const seen = new Set<string>();
  const backends = candidates.filter(isBackend).filter((b) => !seen.has(b.name) && seen.add(b.name));
  if (backends.length === 0) throw new Error(`${spec} exports no MhaBackend (expected 'backends', a default export or named backend exports)`);
  return backends;
}

/** True for the naive reference backend in examples/, which the bench leaves out unless asked. */
export function isTemplateModule(m: RepoModule): boolean {
  return m.dir.split(/[\\/]/).includes('examples') && /template/.test(m.packageName);
}
