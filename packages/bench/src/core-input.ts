import { privateCopy, validateInput, type MhaBackend, type ResolvedMhaConfig, type Tensor } from '@mha/core';
import type { CoreInputCost } from './results.js';
import { median } from './sampling.js';

/** `defineBackend` keeps its definition under this registered symbol (what `deriveBackend` reads). */
const DEFINITION = Symbol.for('@mha/core/backend-definition');

/**
 * Whether core hands this backend's kernels a private copy of x on every forward: true unless its
 * definition sets `readsInputsSynchronously`; undefined for a backend not built by `defineBackend`.
 */
export function coreCopiesInputs(backend: MhaBackend): boolean | undefined {
  const def = (backend as unknown as Record<symbol, { readsInputsSynchronously?: unknown } | undefined>)[DEFINITION];
  return def === undefined ? undefined : def.readsInputsSynchronously !== true;
}

/** At least this long and this many calls per timed operation: enough for a stable median of a sub-ms step. */
const MIN_TIME_MS = 200;
const MIN_CALLS = 21;

function medianMs(fn: () => unknown): number {
  fn(); // warm-up (JIT)
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < MIN_CALLS || performance.now() - start < MIN_TIME_MS) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/**
 * Times what `defineBackend` does to the input on every `forward(x)` before the kernel runs (SPEC.md,
 * "Inputs are read during the call"): `validateInput` (shape checks and the finite scan of x) and the
 * private copy of x (`privateCopy`), which core makes only for a backend whose kernels may read x late.
 */
export function measureCoreInput(backend: MhaBackend, config: ResolvedMhaConfig, x: Tensor): CoreInputCost {
  let sink = 0;
  const validateMs = medianMs(() => (sink += validateInput(config, x).batch));
  const copyMs = medianMs(() => (sink += privateCopy(Float32Array, x.data).length));
  if (sink < 0) throw new Error('unreachable'); // keeps the timed work observable
  return { validateMs, copyMs, copied: coreCopiesInputs(backend) };
}
