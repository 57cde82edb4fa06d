// Deliberately broken module cache paths (issue 14, `forward(x_new, { cache })`): each wraps the reference
// backend's module at the public level, where a backend doing its own module cache handling would go wrong.
// Meta-tests: src/meta-module-kvcache.test.ts.
import { createKvCache, type ForwardOptions, type MhaBackend, type MhaModule, type Tensor } from '@mha/core';
import { referenceBackend } from '../reference-backend.js';

/** The bugs {@link moduleKvCacheBuggyBackend} can inject; `none` passes every call through. */
export const MODULE_KV_CACHE_BUGS = ['none', 'module-past-ignored', 'module-not-appended'] as const;

/** One of {@link MODULE_KV_CACHE_BUGS}. */
export type ModuleKvCacheBug = (typeof MODULE_KV_CACHE_BUGS)[number];

/** What each bug does, as an implementer would describe the mistake. */
export const MODULE_KV_CACHE_BUG_DESCRIPTIONS: Readonly<Record<ModuleKvCacheBug, string>> = {
  none: 'no bug',
  'module-past-ignored': 'the new tokens attend only each other (the cached past is not read), but their keys/values are appended',
  'module-not-appended': 'the cached past is attended but the new keys/values are never kept',
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
        if (!cache || bug === 'none') return m.forward(x, options);
        if (bug === 'module-past-ignored') {
          const scratch = createKvCache({ batch: cache.batch, kvHeads: cache.kvHeads, capacity: cache.capacity, keyDim: cache.keyDim, valueDim: cache.valueDim });
          const r = await m.forward(x, { ...options, cache: scratch });
          const s = scratch.snapshot();
          cache.append(s.key, s.value);
          return r;
        }
        const before = cache.length;
        const r = await m.forward(x, options);
        cache.truncate(before);
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
