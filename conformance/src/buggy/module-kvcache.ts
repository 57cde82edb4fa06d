// Deliberately broken module cache paths (issue 14, `forward(x_new, { cache })`): each wraps the reference
// backend's module at the public level, where a backend doing its own module cache handling would go wrong.
// Meta-tests: src/meta-module-kvcache.test.ts.
import { createKvCache, type ForwardOptions, type MhaBackend, type MhaModule, type Tensor } from '@mha/core';
import { referenceBackend } from '../reference-backend.js';

/** The bugs {@link moduleKvCacheBuggyBackend} can inject; `none` passes every call through. */
export const MODULE_KV_CACHE_BUGS = [
  'none',
  'module-past-ignored',
  'module-not-appended',
  'module-padding-attended',
  'module-mask-ignored-with-cache',
  'module-stage-ignored-with-cache',
  'module-stage-ignored-without-cache',
  'module-weights-over-new-keys',
  'module-trace-new-keys-only',
] as const;

/** One of {@link MODULE_KV_CACHE_BUGS}. */
export type ModuleKvCacheBug = (typeof MODULE_KV_CACHE_BUGS)[number];

/** What each bug does, as an implementer would describe the mistake. */
export const MODULE_KV_CACHE_BUG_DESCRIPTIONS: Readonly<Record<ModuleKvCacheBug, string>> = {
  none: 'no bug',
  'module-past-ignored': 'the new tokens attend only each other (the cached past is not read), but their keys/values are appended',
  'module-not-appended': 'the cached past is attended but the new keys/values are never kept',
  'module-padding-attended': 'validLengths is ignored: padding tokens are attended like real ones',
  'module-mask-ignored-with-cache': 'with a cache, mask and keyPaddingMask are dropped',
  'module-stage-ignored-with-cache': 'with a cache, weightsStage is dropped: weights are always the softmax',
  'module-stage-ignored-without-cache': 'without a cache, weightsStage is dropped: weights are always the softmax',
  'module-weights-over-new-keys': 'with a cache, the returned weights of the cached keys are zeroed and each row renormalised over the new keys',
  'module-trace-new-keys-only': "with a cache, the trace's k/v/scores/weights shapes count only the new tokens' keys",
};

/** A backend whose modules have `bug` in their cache path; everything else is the reference's. */
export function moduleKvCacheBuggyBackend(bug: ModuleKvCacheBug): MhaBackend {
  const inner = referenceBackend;
  return {
    ...inner,
    name: bug === 'none' ? 'module-kv-cache-control' : `module-kv-cache-bug-${bug}`,
    async createModule(config, weights) {
      const m = await inner.createModule(config, weights);
      const forward = async (x: Tensor, options?: ForwardOptions) => {
        const cache = options?.cache;
        if (!cache && bug === 'module-stage-ignored-without-cache' && options) {
          const o: ForwardOptions = { ...options };
          delete o.weightsStage;
          return m.forward(x, o);
        }
        if (!cache || bug === 'none' || bug === 'module-stage-ignored-without-cache') return m.forward(x, options);
        if (bug === 'module-past-ignored') {
          const scratch = createKvCache({ batch: cache.batch, kvHeads: cache.kvHeads, capacity: cache.capacity, keyDim: cache.keyDim, valueDim: cache.valueDim });
          const r = await m.forward(x, { ...options, cache: scratch });
          const s = scratch.snapshot();
          cache.append(s.key, s.value);
          return r;
        }
        if (bug === 'module-not-appended') {
          const before = cache.length;
          const r = await m.forward(x, options);
          cache.truncate(before);
          return r;
        }
        const o: ForwardOptions = { ...options };
        if (bug === 'module-padding-attended') {
          delete o.validLengths;
          delete o.paddingSide;
        }
        if (bug === 'module-mask-ignored-with-cache') {
          delete o.mask;
          delete o.keyPaddingMask;
        }
        if (bug === 'module-stage-ignored-with-cache') delete o.weightsStage;
        const past = cache.length;
        const r = await m.forward(x, o);
        const n = x.shape[1]!;
        if (bug === 'module-trace-new-keys-only' && r.trace) {
          const trace = r.trace.map((e) => (['k', 'v', 'scores', 'weights'].includes(e.step) ? { step: e.step, shape: [...e.shape.slice(0, -2), ...(e.step === 'k' || e.step === 'v' ? [n, e.shape[3]!] : [n, n])] } : e));
          return { ...r, trace };
        }
        if (bug === 'module-weights-over-new-keys' && r.weights && past > 0) {
          const T = past + n;
          const data = Float32Array.from(r.weights.data);
          for (let row = 0; row < data.length / T; row++) {
            let sum = 0;
            for (let j = 0; j < T; j++) {
              if (j < past) data[row * T + j] = 0;
              sum += data[row * T + j]!;
            }
            for (let j = past; j < T; j++) data[row * T + j] = sum > 0 ? data[row * T + j]! / sum : 0;
          }
          const weights = { data, shape: r.weights.shape };
          return { ...r, weights, attentionWeights: weights };
        }
        return r;
      };
      const wrapped: MhaModule = {
        backend: m.backend,
        config: m.config,
        get disposed() {
          return m.disposed;
        },
        forward,
        dispose: () => m.dispose(),
      };
      return wrapped;
    },
  };
}
