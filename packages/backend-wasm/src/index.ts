/**
 * @mha/backend-wasm: multi-head attention on WebAssembly SIMD kernels compiled from AssemblyScript: a
 * register-blocked f32x4 GEMM over packed weight panels for the projections and a fused, tiled attention
 * kernel (no `[T, T]` buffer, causal tiles skipped, masks, grouped-query, soft-cap, cross-attention).
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
import { coreAttention, createModuleKernel } from './kernels.js';
import { flavourSupported, WasmRuntime, type SimdFlavour } from './runtime.js';

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
}

/** The backend {@link createWasmBackend} returns: the core contract plus the build in use. */
export interface WasmBackend extends MhaBackend {
  /** The compiled module this backend runs: `'relaxed'` (fused multiply-add) or `'simd'`. */
  readonly simd: SimdFlavour;
}

/** Runtimes with WebAssembly SIMD: every current JavaScript engine. */
export const WASM_RUNTIMES: readonly Runtime[] = ['node', 'browser', 'deno', 'bun', 'edge'];

/** Every optional core-op feature; all are implemented by the one fused attention kernel. */
export const WASM_CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

const OPTION_KEYS = new Set(['name', 'simd']);

/**
 * Builds a WebAssembly backend. Each backend owns one module instance and its memory, created on first
 * use and shared by its modules; a module's packed weights live there until `module.dispose()`.
 * `diagnostics()` reports `modules` (live), `allocatedBytes` (live blocks) and `wasmMemoryBytes` (the
 * memory's size, which WebAssembly can only grow); `backend.dispose()` drops the instance and its memory
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
  const name = options.name ?? 'wasm';
  if (typeof name !== 'string' || name.length === 0) throw new MhaError(MhaErrorCode.InvalidType, 'options.name', name, 'must be a non-empty string');
  const requested = options.simd ?? 'auto';
  if (requested !== 'auto' && requested !== 'relaxed' && requested !== 'simd') throw new MhaError(MhaErrorCode.InvalidOption, 'options.simd', requested, "expected 'auto', 'relaxed' or 'simd'");
  const flavour: SimdFlavour = requested === 'auto' ? (flavourSupported('relaxed') ? 'relaxed' : 'simd') : requested;

  let runtime: WasmRuntime | undefined;
  let loading: Promise<WasmRuntime> | undefined;
  let modules = 0;
  const load = (): Promise<WasmRuntime> => {
    if (runtime) return Promise.resolve(runtime);
    loading ??= WasmRuntime.create(flavour).then(
      (rt) => {
        runtime = rt;
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
    const own = <T extends Float32Array | Uint8Array>(d: T): T => {
      const c = new (d.constructor as new (n: number) => T)(d.length);
      c.set(d);
      return c;
    };
    const copy: ValidAttention = { ...a, q: own(a.q), k: own(a.k), v: own(a.v), mask: a.mask ? { ...a.mask, data: own(a.mask.data) } as ValidAttention['mask'] : undefined };
    return load().then((rt) => coreAttention(rt, copy));
  };

  const backend = defineBackend({
    name,
    runtimes: WASM_RUNTIMES,
    capabilities: WASM_CAPABILITIES,
    async createKernel(config, weights) {
      const rt = await load();
      const kernel = createModuleKernel(rt, config, weights, () => modules--);
      modules++;
      return kernel;
    },
    attention,
    dispose() {
      if (modules === 0) runtime = undefined;
    },
    diagnostics: () => ({
      modules,
      allocatedBytes: runtime?.arena.allocatedBytes ?? 0,
      wasmMemoryBytes: runtime?.arena.memoryBytes ?? 0,
    }),
  });
  return { ...backend, simd: flavour };
}

/**
 * The WebAssembly backend: name `'wasm'`, single-threaded, every runtime, every core-op capability;
 * relaxed SIMD where available, else plain SIMD (see {@link WasmBackend.simd}).
 */
export const wasmBackend: WasmBackend = createWasmBackend();

/** The backends of this package, for the conformance CLI (`pnpm conformance`) and tools that list backends. */
export const backends: readonly WasmBackend[] = [wasmBackend];
