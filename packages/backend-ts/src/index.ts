/**
 * @mha/backend-ts: multi-head attention in pure TypeScript on Float32Array. No dependencies. The default
 * backend uses no platform APIs, so the same code runs in Node, browsers, Deno, Bun and edge runtimes;
 * `createTsBackend({ threads })` adds worker threads with shared memory where the runtime has them,
 * with bit-identical results.
 *
 * @example
 * import { initWeights, randomTensor, resolveConfig } from '@mha/core';
 * import { tsBackend } from '@mha/backend-ts';
 *
 * const config = resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true });
 * const module = await tsBackend.createModule(config, initWeights(config, 1));
 * const { output } = await module.forward(randomTensor([2, 16, 64], 2)); // output.shape: [2, 16, 64]
 *
 * @packageDocumentation
 */
import { defineBackend, MhaError, MhaErrorCode, type Capability, type MhaBackend, type Runtime } from '@mha/core';
import { coreAttention } from './core-op.js';
import { createModuleKernel } from './module-kernel.js';
import { createProjection } from './projection.js';
import { createThreadedProjection } from './threaded-projection.js';
import { createThreadedModuleKernel } from './threaded-module-kernel.js';
import { loadWorkerSpawner, threadingSupport } from './worker-host.js';
import { WorkerPool } from './worker-pool.js';

/** Options of {@link createTsBackend}. */
export interface TsBackendOptions {
  /** Backend name (reports, `module.backend`). Default `'ts'`, or `'ts-threads'` when `threads > 1`. */
  readonly name?: string | undefined;
  /**
   * Keep each module's work buffers between forwards. Default `true`: repeated forwards of the same
   * size allocate only their outputs. `false` frees them after every forward, trading speed for the
   * lowest memory held between calls (they are O(B*T*dOut): ~33 MB for B=1, T=1024, D=768).
   */
  readonly retainScratch?: boolean | undefined;
  /**
   * Threads a module forward uses: the calling thread plus `threads - 1` worker threads (Node
   * `worker_threads` or Web Workers). Default 1: single-threaded, no workers, no shared memory. Where
   * workers or `SharedArrayBuffer` are unavailable the backend runs single-threaded and says so in
   * {@link TsBackend.threads} and {@link TsBackend.threadsUnavailable}. Results are bit-identical
   * whatever the count. At most 256.
   */
  readonly threads?: number | undefined;
  /**
   * Least multiply-adds a thread must get before a phase of a forward is shared with workers.
   * Default 262,144 (about 50 us of work): smaller phases run on the calling thread alone, because a
   * worker round trip costs more than it saves. 0 splits every phase.
   */
  readonly minWorkPerThread?: number | undefined;
  /**
   * Where the worker script is, for bundlers that do not emit it by themselves. Default: found
   * automatically (Vite, webpack 5 and Rollup's URL plugin emit it from the
   * `new URL('./worker-web.js', import.meta.url)` pattern; Node finds the installed package's). With
   * esbuild, build `@mha/backend-ts/worker-web` (browsers) as an entry point and pass its URL, or name
   * it `worker-web.js` beside your bundle. A string or a `URL`; a relative one is taken relative to the page.
   */
  readonly workerUrl?: string | { readonly href: string } | undefined;
}

/** The backend {@link createTsBackend} returns: the core contract plus the thread count in effect. */
export interface TsBackend extends MhaBackend {
  /**
   * Threads a module forward really uses (1 when single-threaded, by choice or by fallback). With
   * workers, it drops to 1 when the last attempt to start them failed (the next large forward retries).
   */
  readonly threads: number;
  /** Why fewer threads than requested are in use; `undefined` when the request was met. */
  readonly threadsUnavailable: string | undefined;
}

/** Runtimes this backend runs in: single-threaded it uses nothing beyond ECMAScript 2022. */
export const TS_RUNTIMES: readonly Runtime[] = ['node', 'browser', 'deno', 'bun', 'edge'];

/** Every optional core-op feature; all are implemented by the one tiled attention kernel. */
export const TS_CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

/** Default of {@link TsBackendOptions.minWorkPerThread}. */
export const DEFAULT_MIN_WORK_PER_THREAD = 2 ** 18;

const MAX_THREADS = 256;
const OPTION_KEYS = new Set(['name', 'retainScratch', 'threads', 'minWorkPerThread', 'workerUrl']);

/**
 * Builds a pure-TypeScript backend. Use {@link tsBackend} (single-threaded) or
 * {@link tsThreadsBackend} (2 threads) unless you need other settings.
 *
 * With `threads > 1`, the backend owns a pool of `threads - 1` workers, started on the first forward
 * that needs them and shared by all its modules; a module's packed weights go to each worker once.
 * `module.dispose()` releases the module's weights in the workers, as does garbage collection of a module
 * dropped undisposed (where the runtime has `FinalizationRegistry`); `backend.dispose()` stops the
 * workers (a later forward starts new ones) and resolves once they have stopped. Idle workers never keep
 * a Node process alive. Workers that cannot be started (e.g. the runtime refuses new threads) leave the
 * forward on the calling thread, with the reason in {@link TsBackend.threadsUnavailable}; a worker that
 * dies during a forward rejects it with `MHA_BACKEND_UNAVAILABLE` (the next forward starts new ones).
 * `diagnostics()` counts live modules, workers, and module weights the workers hold (`pinnedBytes`).
 * The core op (`attention`) always runs on the calling thread.
 *
 * @throws MhaError `MHA_INVALID_OPTION` / `MHA_INVALID_TYPE` for an unknown, mistyped or out-of-range option.
 *
 * @example
 * const lean = createTsBackend({ retainScratch: false });
 * const fast = createTsBackend({ threads: 4 }); // fast.threads === 4 where workers are available
 */
export function createTsBackend(options: TsBackendOptions = {}): TsBackend {
  if (typeof options !== 'object' || options === null) {
    throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${[...OPTION_KEYS].join(', ')}`);
  }
  const requested = options.threads ?? 1;
  if (typeof requested !== 'number') throw new MhaError(MhaErrorCode.InvalidType, 'options.threads', requested, 'must be a number');
  if (!Number.isInteger(requested) || requested < 1 || requested > MAX_THREADS) throw new MhaError(MhaErrorCode.InvalidOption, 'options.threads', requested, `must be an integer from 1 to ${MAX_THREADS}`);
  const minWork = options.minWorkPerThread ?? DEFAULT_MIN_WORK_PER_THREAD;
  if (typeof minWork !== 'number') throw new MhaError(MhaErrorCode.InvalidType, 'options.minWorkPerThread', minWork, 'must be a number');
  if (!Number.isFinite(minWork) || minWork < 0) throw new MhaError(MhaErrorCode.InvalidOption, 'options.minWorkPerThread', minWork, 'must be a finite number >= 0');
  const name = options.name ?? (requested > 1 ? 'ts-threads' : 'ts');
  if (typeof name !== 'string' || name.length === 0) throw new MhaError(MhaErrorCode.InvalidType, 'options.name', name, 'must be a non-empty string');
  const retainScratch = options.retainScratch ?? true;
  if (typeof retainScratch !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, 'options.retainScratch', retainScratch, 'must be a boolean');

  const givenUrl = options.workerUrl as unknown;
  const workerUrl = typeof givenUrl === 'string' ? givenUrl : typeof (givenUrl as { href?: unknown } | null)?.href === 'string' ? (givenUrl as { href: string }).href : undefined;
  if (givenUrl !== undefined && workerUrl === undefined) throw new MhaError(MhaErrorCode.InvalidType, 'options.workerUrl', givenUrl, 'must be a string or a URL');
  const support = requested > 1 ? threadingSupport() : undefined;
  const host = support?.host;
  const pool = host !== undefined ? new WorkerPool(requested - 1, () => loadWorkerSpawner(host, workerUrl), retainScratch) : undefined;
  const backend = defineBackend({
    name,
    runtimes: TS_RUNTIMES,
    capabilities: TS_CAPABILITIES,
    createKernel: (config, weights) =>
      pool ? createThreadedModuleKernel(config, weights, { pool, retainScratch, minWorkPerThread: minWork }) : createModuleKernel(config, weights, { retainScratch }),
    attention: coreAttention,
    createProjection: (inW, n, w, b) =>
      pool ? createThreadedProjection(inW, n, w, b, { pool, retainScratch, minWorkPerThread: minWork }) : createProjection(inW, n, w, b, retainScratch),
    // Every input is read before the kernel returns, so core need not copy: the single-threaded kernel
    // and the core op are synchronous, and the threaded kernel copies x (into the workers' shared
    // buffer, or a private one while another forward runs) before it queues the work.
    readsInputsSynchronously: true,
    // coreAttention reads K/V through strides: a module cache's storage needs no per-step gather.
    readsKvInPlace: true,
    dispose: () => pool?.dispose(),
    diagnostics: pool ? () => ({ ...pool.diagnostics() }) : undefined,
  });
  // Getters: a pool whose workers cannot be started computes on one thread and says why.
  return Object.defineProperties(backend, {
    threads: { get: () => (pool && pool.unavailable === undefined ? requested : 1), enumerable: true },
    threadsUnavailable: { get: () => support?.reason ?? pool?.unavailable, enumerable: true },
  }) as TsBackend;
}

/**
 * The pure-TypeScript backend: name `'ts'`, single-threaded, every runtime, every core-op capability
 * (cross-attention, grouped-query, value-head-dim, attn-mask, softcap).
 */
export const tsBackend: TsBackend = createTsBackend();

/**
 * The same backend with 2 threads (the calling thread and one worker): name `'ts-threads'`, results
 * bit-identical to {@link tsBackend}. Falls back to one thread where workers or `SharedArrayBuffer`
 * are unavailable (see {@link TsBackend.threads}). Its worker starts on the first large enough forward;
 * `tsThreadsBackend.dispose()` stops it, though an idle worker never keeps a Node process alive.
 */
export const tsThreadsBackend: TsBackend = createTsBackend({ threads: 2 });

/** Both backends, for the conformance CLI (`pnpm conformance`) and tools that list backends. */
export const backends: readonly TsBackend[] = [tsBackend, tsThreadsBackend];
