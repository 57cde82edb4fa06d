// Deliberately broken backends for the lifecycle group: each gets the arithmetic right (the float64
// reference) and breaks one rule about how inputs, results or resources are handled.
import { defineBackend, expectedTrace, referenceAttentionValid, referenceForward, type BackendDefinition, type KernelForwardResult, type MhaBackend, type ValidAttention } from '@mha/core';

/** The lifecycle bugs {@link lifecycleBuggyBackend} can inject; `none` is a correct asynchronous backend. */
export const LIFECYCLE_BUGS = [
  'none',
  /** Promises `readsInputsSynchronously` but reads x (and q/k/v) after an await. */
  'lazy-reader',
  /** Caches results by the input's buffer: a refilled buffer gets the old result. */
  'cache-by-buffer',
  /** Returns one reused buffer for the attention weights of every call. */
  'reused-weights',
  /** Folds the scale into q in place (promising synchronous reads, so it gets the caller's q). */
  'mutates-q',
  /** One scratch buffer for the whole backend, used across an await: modules running concurrently clobber it. */
  'shared-scratch',
  /** Reads x lazily only for large inputs (where a threaded kernel would hand work to workers). */
  'lazy-large',
  /** Its live-kernel counter is never decremented. */
  'leaky-counter',
  /** backend.dispose() breaks every later call. */
  'dispose-breaks',
] as const;

/** One of {@link LIFECYCLE_BUGS}. */
export type LifecycleBug = (typeof LIFECYCLE_BUGS)[number];

/** Inputs this large (elements of x) count as large for `lazy-large`. */
const LARGE = 2 * 128 * 64;

const tick = () => new Promise<void>((resolve) => queueMicrotask(resolve));

/** A reference-backed backend with one lifecycle bug. */
export function lifecycleBuggyBackend(bug: LifecycleBug): MhaBackend {
  const sync = bug === 'lazy-reader' || bug === 'cache-by-buffer' || bug === 'mutates-q' || bug === 'lazy-large';
  let live = 0;
  let closed = false;
  let scratch = new Float32Array(0);
  const moduleCache = new WeakMap<ArrayBufferLike, { key: string; result: KernelForwardResult }>();
  const opCache = new WeakMap<ArrayBufferLike, { output: Float32Array; weights?: Float32Array | undefined }>();
  let reusedWeights = new Float32Array(0);
  const reuse = (w: ArrayLike<number>): Float32Array => {
    if (reusedWeights.length !== w.length) reusedWeights = new Float32Array(w.length);
    reusedWeights.set(w);
    return reusedWeights;
  };
  const alive = () => {
    if (closed) throw new Error(`buggy-lifecycle-${bug}: used after backend.dispose()`);
  };
  const attention = (a: ValidAttention) => {
    const r = referenceAttentionValid(a);
    return { output: Float32Array.from(r.output), weights: a.returnWeights ? (bug === 'reused-weights' ? reuse(r.weights) : Float32Array.from(r.weights)) : undefined };
  };
  const def: BackendDefinition = {
    name: `buggy-lifecycle-${bug}`,
    runtimes: ['node'],
    capabilities: ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'],
    readsInputsSynchronously: sync,
    createKernel(config, weights) {
      alive();
      live++;
      let queue: Promise<unknown> = Promise.resolve();
      const compute = (x: Float32Array, batch: number, tokens: number, opts: { returnAttentionWeights: boolean; trace: boolean }): KernelForwardResult => {
        const r = referenceForward(config, weights, { data: x, shape: [batch, tokens, config.dIn] });
        const w = r.attentionWeights.data;
        return {
          output: Float32Array.from(r.output.data),
          attentionWeights: opts.returnAttentionWeights ? (bug === 'reused-weights' ? reuse(w) : Float32Array.from(w)) : undefined,
          trace: opts.trace ? expectedTrace(config, batch, tokens) : undefined,
        };
      };
      return {
        async forward({ x, batch, tokens }, opts) {
          alive();
          if (bug === 'cache-by-buffer') {
            const key = JSON.stringify([batch, tokens, opts]);
            const hit = moduleCache.get(x.buffer);
            const r = hit?.key === key ? hit.result : compute(x, batch, tokens, opts);
            moduleCache.set(x.buffer, { key, result: r });
            return { output: r.output.slice(), attentionWeights: r.attentionWeights?.slice(), trace: r.trace };
          }
          if (bug === 'shared-scratch') {
            // Calls on one module are queued (so one module alone looks fine); the scratch is the backend's.
            const run = queue.then(async () => {
              if (scratch.length < x.length) scratch = new Float32Array(x.length);
              scratch.set(x);
              await tick();
              return compute(scratch.subarray(0, x.length), batch, tokens, opts);
            });
            queue = run.catch(() => undefined);
            return run;
          }
          if (bug === 'lazy-reader' || (bug === 'lazy-large' && x.length >= LARGE)) await tick();
          else if (bug === 'none') {
            // A correct asynchronous kernel: it may read late because core gave it a private copy.
            await tick();
          }
          return compute(x, batch, tokens, opts);
        },
        dispose() {
          if (bug !== 'leaky-counter') live--;
        },
      };
    },
    async attention(a) {
      alive();
      if (bug === 'cache-by-buffer') {
        const hit = opCache.get(a.q.buffer);
        if (hit) return { output: hit.output.slice(), weights: hit.weights?.slice() };
        const r = attention(a);
        opCache.set(a.q.buffer, { output: r.output.slice(), weights: r.weights?.slice() });
        return r;
      }
      if (bug === 'mutates-q') {
        for (let i = 0; i < a.q.length; i++) a.q[i]! *= a.scale;
        return attention({ ...a, scale: 1, defaultScale: false });
      }
      if (bug === 'lazy-reader' || bug === 'none') await tick();
      return attention(a);
    },
    dispose() {
      if (bug === 'dispose-breaks') closed = true;
    },
    diagnostics: () => ({ kernels: live }),
  };
  return defineBackend(def);
}
