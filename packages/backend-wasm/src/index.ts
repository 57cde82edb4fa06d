/**
 * @mha/backend-wasm: multi-head attention on WebAssembly SIMD kernels compiled from AssemblyScript: a
 * register-blocked f32x4 GEMM over packed weight panels for the projections and a fused, tiled attention
 * kernel with an online softmax over key blocks (no `[T, T]` buffer, causal tiles skipped, masks,
 * grouped-query, soft-cap, cross-attention; the exact two-pass softmax when weights are requested).
 * The module bytes are embedded in the package, so Node, browsers (with or without a bundler), Deno,
 * Bun and edge runtimes load it with no configuration. Where the runtime has relaxed SIMD, a second
 * build with fused multiply-add is used.
 *
 * @example
 * import { initWeights, randomTensor, resolveConfig } from '@mha/core';
 * import { wasmBackend } from '@mha/backend-wasm';
 *
 * const config = resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true });
 * const module = await wasmBackend.createModule(config, initWeights(config, 1));
 * const { output } = await module.forward(randomTensor([2, 16, 64], 2)); // output.shape: [2, 16, 64]
 *
 * @packageDocumentation
 */
import { defineBackend, MhaError, MhaErrorCode, type Capability, type MhaBackend, type Runtime, type ValidAttention } from '@mha/core';
import { coreAttention, createModuleKernel, createProjection } from './kernels.js';
import { flavourSupported, sharedMemoryUnavailable, WasmRuntime, type SimdFlavour } from './runtime.js';
import { ThreadPool } from './thread-pool.js';

export type { SimdFlavour } from './runtime.js';

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /** Backend name (reports, `module.backend`). Default `'wasm'`. */
  readonly name?: string | undefined;
  /**
   * Which build to run. `'auto'` (default): the relaxed-SIMD build (fused multiply-add) where the
   * runtime validates it, else plain SIMD. `'relaxed'` / `'simd'` force one; a forced build the runtime
   * cannot compile raises `MHA_BACKEND_UNAVAILABLE` on first use.
   */
  readonly simd?: 'auto' | SimdFlavour | undefined;
  /**
   * Threads a module forward uses: the calling thread plus `threads - 1` workers (Node `worker_threads`
   * or Web Workers) on one shared WebAssembly memory. Default 1. Threads run the plain-SIMD build, and
   * results are bit-identical to the single-threaded `simd` build whatever the count. Where shared
   * memory or workers are unavailable (a browser page that is not cross-origin isolated) the backend
   * runs single-threaded and says why in {@link WasmBackend.threadsUnavailable}. The core op always runs
   * on the calling thread. At most 64.
   */
  readonly threads?: number | undefined;
  /**
   * Least multiply-adds a thread must get before a phase of a forward is shared with workers. Default
   * 262,144: smaller phases run on the calling thread alone, because a worker round trip costs more.
   */
  readonly minWorkPerThread?: number | undefined;
  /**
   * Where the Web Worker script (`@mha/backend-wasm/worker-web`) is, resolved against the page's
   * address; only for browser bundles whose bundler does not emit it. Vite and webpack 5 find it
   * themselves (the literal `new Worker(new URL('./worker-web.js', import.meta.url))`); with esbuild,
   * build `@mha/backend-wasm/worker-web` as a second entry point and either name it `worker-web.js`
   * beside the bundle or pass its URL here (when another package already owns `worker-web.js`).
   * A script that fails to load fails the forward with `MHA_BACKEND_UNAVAILABLE` naming this URL.
   */
  readonly workerUrl?: string | { readonly href: string } | undefined;
}

/** The backend {@link createWasmBackend} returns: the core contract plus the build in use. */
export interface WasmBackend extends MhaBackend {
  /** The compiled module this backend runs: `'relaxed'` (fused multiply-add) or `'simd'`. */
  readonly simd: SimdFlavour;
  /** Threads a module forward really uses (1 when single-threaded, by choice or by fallback). */
  readonly threads: number;
  /** Why fewer threads than requested are in use; `undefined` when the request was met. */
  readonly threadsUnavailable: string | undefined;
}

/** Runtimes with WebAssembly SIMD: every current JavaScript engine. */
export const WASM_RUNTIMES: readonly Runtime[] = ['node', 'browser', 'deno', 'bun', 'edge'];

/** Every optional core-op feature; both fused attention kernels (with and without weights) implement all of them. */
export const WASM_CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

const OPTION_KEYS = new Set(['name', 'simd', 'threads', 'minWorkPerThread', 'workerUrl']);
const MAX_THREADS = 64;

/** Default of {@link WasmBackendOptions.minWorkPerThread}. */
export const DEFAULT_MIN_WORK_PER_THREAD = 2 ** 18;

/**
 * Builds a WebAssembly backend. Each backend owns one module instance and its memory, created on first
 * use and shared by its modules; a module's packed weights live there until `module.dispose()`.
 * `diagnostics()` reports `modules` (live module kernels, and native projections of lowered module calls), `allocatedBytes` (live blocks), `wasmMemoryBytes` (the
 * memory's size, which WebAssembly can only grow) and `workers` (worker threads running);
 * `backend.dispose()` drops the instance and its memory
 * once no module is live (a later call creates a new one).
 *
 * @throws MhaError `MHA_INVALID_OPTION` / `MHA_INVALID_TYPE` for an unknown or mistyped option.
 *
 * @example
 * const fma = createWasmBackend({ simd: 'relaxed' }); // needs relaxed SIMD (Chromium; Node with --experimental-wasm-relaxed-simd)
 */
export function createWasmBackend(options: WasmBackendOptions = {}): WasmBackend {
  if (typeof options !== 'object' || options === null) throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${[...OPTION_KEYS].join(', ')}`);
  }
  const requestedThreads = options.threads ?? 1;
  if (typeof requestedThreads !== 'number') throw new MhaError(MhaErrorCode.InvalidType, 'options.threads', requestedThreads, 'must be a number');
  if (!Number.isInteger(requestedThreads) || requestedThreads < 1 || requestedThreads > MAX_THREADS) throw new MhaError(MhaErrorCode.InvalidOption, 'options.threads', requestedThreads, `must be an integer from 1 to ${MAX_THREADS}`);
  const minWorkPerThread = options.minWorkPerThread ?? DEFAULT_MIN_WORK_PER_THREAD;
  if (typeof minWorkPerThread !== 'number') throw new MhaError(MhaErrorCode.InvalidType, 'options.minWorkPerThread', minWorkPerThread, 'must be a number');
  if (!Number.isFinite(minWorkPerThread) || minWorkPerThread < 0) throw new MhaError(MhaErrorCode.InvalidOption, 'options.minWorkPerThread', minWorkPerThread, 'must be a finite number >= 0');
  const givenUrl = options.workerUrl as unknown;
  const workerUrl = typeof givenUrl === 'string' ? givenUrl : typeof (givenUrl as { href?: unknown } | null)?.href === 'string' ? (givenUrl as { href: string }).href : undefined;
  if (givenUrl !== undefined && workerUrl === undefined) throw new MhaError(MhaErrorCode.InvalidType, 'options.workerUrl', givenUrl, 'must be a string or a URL');
  const name = options.name ?? (requestedThreads > 1 ? 'wasm-threads' : 'wasm');
  if (typeof name !== 'string' || name.length === 0) throw new MhaError(MhaErrorCode.InvalidType, 'options.name', name, 'must be a non-empty string');
  const requested = options.simd ?? 'auto';
  if (requested !== 'auto' && requested !== 'relaxed' && requested !== 'simd') throw new MhaError(MhaErrorCode.InvalidOption, 'options.simd', requested, "expected 'auto', 'relaxed' or 'simd'");
  const threadsUnavailable = requestedThreads > 1 ? sharedMemoryUnavailable() : undefined;
  const threads = threadsUnavailable === undefined ? requestedThreads : 1;
  if (threads > 1 && requested === 'relaxed') throw new MhaError(MhaErrorCode.InvalidOption, 'options.simd', requested, 'threads run the plain-SIMD build; use simd: "auto" or "simd" with threads > 1');
  const flavour: SimdFlavour = threads > 1 ? 'simd' : requested === 'auto' ? (flavourSupported('relaxed') ? 'relaxed' : 'simd') : requested;
  let pool: ThreadPool | undefined;

  let runtime: WasmRuntime | undefined;
  let loading: Promise<WasmRuntime> | undefined;
  let modules = 0;
  const load = (): Promise<WasmRuntime> => {
    if (runtime) return Promise.resolve(runtime);
    loading ??= (threads > 1 ? WasmRuntime.createShared() : WasmRuntime.create(flavour)).then(
      (rt) => {
        runtime = rt;
        if (threads > 1) pool = new ThreadPool(threads, rt, workerUrl);
        loading = undefined;
        return rt;
      },
      (e: unknown) => {
        loading = undefined;
        throw e;
      },
    );
    return loading;
  };

  const attention = (a: ValidAttention) => {
    // Synchronous once the instance exists: the inputs are read before this returns.
    if (runtime) return coreAttention(runtime, a);
    // First call: the module compiles asynchronously, so read the inputs now, into private copies.
    // Plain Float32Array / Uint8Array copies filled with .set: never the caller's constructor (a subclass).
    const own32 = (d: Float32Array): Float32Array => {
      const c = new Float32Array(d.length);
      c.set(d);
      return c;
    };
    const ownMask = (m: NonNullable<ValidAttention['mask']>): ValidAttention['mask'] => {
      if (m.kind === 'bool') {
        const c = new Uint8Array(m.data.length);
        c.set(m.data);
        return { ...m, data: c } as ValidAttention['mask'];
      }
      return { ...m, data: own32(m.data as Float32Array) } as ValidAttention['mask'];
    };
    const copy: ValidAttention = { ...a, q: own32(a.q), k: own32(a.k), v: own32(a.v), mask: a.mask ? ownMask(a.mask) : undefined };
    return load().then((rt) => coreAttention(rt, copy));
  };

  const backend = defineBackend({
    name,
    runtimes: WASM_RUNTIMES,
    capabilities: WASM_CAPABILITIES,
    // Every kernel copies its inputs into wasm memory before it returns or awaits anything (the first
    // core-op call, which must wait for compilation, copies them first), so core need not copy them.
    readsInputsSynchronously: true,
    // `coreAttention` copies only the first tk rows per head of a module cache's storage into wasm
    // memory, which spares core's gather (one more copy of every cached key and value per step).
    readsKvInPlace: true,
    async createKernel(config, weights) {
      const rt = await load();
      const kernel = createModuleKernel(rt, config, weights, () => modules--, pool ? { pool, minWorkPerThread } : undefined);
      modules++;
      return kernel;
    },
    attention,
    async createProjection(inW, n, w, b) {
      const rt = await load();
      // Counted with the modules: its packed weights live in this memory until the module's dispose().
      const projection = createProjection(rt, inW, n, w, b, () => modules--, pool ? { pool, minWorkPerThread } : undefined);
      modules++;
      return projection;
    },
    async dispose() {
      // Workers stop now (a later forward starts new ones); the memory goes once no module holds weights in it.
      await pool?.dispose();
      if (modules === 0) {
        runtime = undefined;
        pool = undefined;
      }
    },
    diagnostics: () => ({
      modules,
      allocatedBytes: runtime?.arena.allocatedBytes ?? 0,
      wasmMemoryBytes: runtime?.arena.memoryBytes ?? 0,
      workers: pool?.workers ?? 0,
    }),
  });
  return { ...backend, simd: flavour, threads, threadsUnavailable };
}

/**
 * The WebAssembly backend: name `'wasm'`, single-threaded, every runtime, every core-op capability;
 * relaxed SIMD where available, else plain SIMD (see {@link WasmBackend.simd}).
 */
export const wasmBackend: WasmBackend = createWasmBackend();

/**
 * The same kernels on 2 threads (the calling thread and one worker, shared WebAssembly memory): name
 * `'wasm-threads'`, plain-SIMD build, results bit-identical to `createWasmBackend({ simd: 'simd' })`.
 * Falls back to one thread where shared memory is unavailable (see {@link WasmBackend.threadsUnavailable}).
 */
export const wasmThreadsBackend: WasmBackend = createWasmBackend({ threads: 2 });

/** The backends of this package, for the conformance CLI (`pnpm conformance`) and tools that list backends. */
export const backends: readonly WasmBackend[] = [wasmBackend, wasmThreadsBackend];
