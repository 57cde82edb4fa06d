/**
 * @mha/auto for browser builds (the `browser` export condition): the same API as `index.ts`, but backend
 * packages are imported with literal specifiers, so the bundler includes the browser-capable ones, and
 * Node-only packages (onnxruntime-node) are never named. Pass `backends` to bundle only what you import.
 *
 * @packageDocumentation
 */
import { candidatesFrom, KNOWN_BACKENDS, type Candidate, type PackageImporter } from './candidates.js';
import { pickFrom, type PickOptions, type PickResult } from './pick.js';

export type { PickOptions, PickResult } from './pick.js';
export { KNOWN_BACKENDS, candidatesFrom, type Candidate, type KnownBackend, type PackageImporter } from './candidates.js';
export { forwardFlops, rankCandidates, type Measured, type Workload } from './rank.js';
export { MEASURED } from './measured.js';

/**
 * The packages this build imports. `@mha/backend-onnxruntime/web` (ort-web) runs in browsers too but is
 * left out on purpose: onnxruntime-web would add its 14 MB .wasm to every app bundle of @mha/auto.
 * Import it yourself and pass pickBackend({ backends }).
 */
const BUNDLED = new Set(['@mha/backend-wasm', '@mha/backend-ts', '@mha/backend-tfjs']);

/** One literal import per browser-capable package, which is what lets a bundler find them. */
const importForBrowser: PackageImporter = async (pkg) => {
  switch (pkg) {
    case '@mha/backend-wasm':
      return (await import('@mha/backend-wasm')) as unknown as Record<string, unknown>;
    case '@mha/backend-ts':
      return (await import('@mha/backend-ts')) as unknown as Record<string, unknown>;
    case '@mha/backend-tfjs':
      return (await import('@mha/backend-tfjs')) as unknown as Record<string, unknown>;
    default:
      throw new Error(`${pkg} is not part of @mha/auto's browser build: import it yourself and pass pickBackend({ backends })`);
  }
};

/** The known backends that run in a browser (or an edge worker) and come with this build. */
export const CANDIDATES: readonly Candidate[] = candidatesFrom(
  importForBrowser,
  KNOWN_BACKENDS.filter((k) => (k.runtimes.includes('browser') || k.runtimes.includes('edge')) && BUNDLED.has(k.package)),
);

/** See the Node entry point (`index.ts`): same behaviour, browser-capable candidates only. */
export function pickBackend(options: PickOptions = {}): Promise<PickResult> {
  return pickFrom(options, CANDIDATES);
}
