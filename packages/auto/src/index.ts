/**
 * @mha/auto: picks the best installed MHA backend for the current runtime. This is the entry point for
 * Node, Deno and Bun (and the default): backend packages are imported by name at run time, so a bundle
 * for Node leaves them (and onnxruntime's native add-on) in node_modules. Browser builds get
 * `index.browser.ts` through the `browser` export condition.
 *
 * @packageDocumentation
 */
import { candidatesFrom, type Candidate, type PackageImporter } from './candidates.js';
import { pickFrom, type PickOptions, type PickResult } from './pick.js';

export type { PickOptions, PickResult } from './pick.js';
export { KNOWN_BACKENDS, candidatesFrom, type Candidate, type KnownBackend, type PackageImporter } from './candidates.js';
export { forwardFlops, rankCandidates, type Measured, type Workload } from './rank.js';
export { MEASURED } from './measured.js';

/** Node resolves the package at run time; the specifier is a variable so bundlers leave it alone. */
const importAtRunTime: PackageImporter = (pkg) => import(/* webpackIgnore: true */ /* @vite-ignore */ pkg) as Promise<Record<string, unknown>>;

/** Every known backend, loaded through the runtime's own module resolution. */
export const CANDIDATES: readonly Candidate[] = candidatesFrom(importAtRunTime);

/**
 * Picks the best installed backend for the current runtime: candidates that support it, ordered by
 * measured speed for your shape when `config` and `shape` are given (else the default order), the first
 * whose package loads. An explicit `prefer` (or `MHA_BACKEND`) selects one by name and never falls back.
 * `reason` says why.
 *
 * @example
 * const { backend, name, reason } = await pickBackend({ config, shape: { batch: 1, seqLen: 128 } });
 * console.log(`using ${name}: ${reason}`);
 * const mha = await backend.createModule(config, weights);
 */
export function pickBackend(options: PickOptions = {}): Promise<PickResult> {
  return pickFrom(options, CANDIDATES);
}
