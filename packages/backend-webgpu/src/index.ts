/**
 * @mha/backend-webgpu: multi-head attention on the GPU in browsers, with its own WGSL kernels (a tiled
 * matmul for the projections, a fused online-softmax attention kernel). Float32 throughout.
 *
 * @example
 * import { initWeights, randomTensor, resolveConfig } from '@mha/core';
 * import { createWebGpuBackend } from '@mha/backend-webgpu';
 *
 * const backend = createWebGpuBackend();
 * const config = resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true });
 * const module = await backend.createModule(config, initWeights(config, 1)); // MHA_BACKEND_UNAVAILABLE without WebGPU
 * const { output } = await module.forward(randomTensor([2, 16, 64], 2)); // output.shape: [2, 16, 64]
 *
 * @packageDocumentation
 */
import { defineBackend, MhaError, MhaErrorCode, type Capability, type MhaBackend, type Runtime, type ValidAttention } from '@mha/core';
import { runCoreOp } from './core-op.js';
import { acquireDevice, defaultGpu } from './device.js';
import type { GpuLike } from './gpu-like.js';
import { GpuContext, SerialQueue, Workspace } from './gpu-context.js';
import { createModuleKernel, createProjection } from './module-kernel.js';

export type { GpuLike } from './gpu-like.js';
export { attentionFlashWgsl, attentionVariantKey, type AttentionVariant, ATTENTION_WG } from './kernels/attention-flash.js';
export { matmulTiledWgsl, MATMUL_TILE } from './kernels/matmul-tiled.js';

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** Backend name (reports, `module.backend`). Default `'webgpu'`. */
  readonly name?: string | undefined;
  /** Where adapters come from. Default `navigator.gpu`; pass your own to pick a GPU or to test. */
  readonly gpu?: GpuLike | undefined;
  /** Passed to `requestAdapter`. Default: the browser's choice. */
  readonly powerPreference?: 'low-power' | 'high-performance' | undefined;
  /**
   * Attention kernel. `'auto'` (default): the query-tiled flash kernel when weights are not requested
   * and both head sizes are at most 128, else the per-row kernel. `'per-row'`: always the per-row kernel
   * (one workgroup per query row), e.g. to compare the two; results agree within float32 rounding.
   */
  readonly attentionKernel?: 'auto' | 'per-row' | undefined;
}

/** Runtimes: WebGPU exists in browsers; Node has no adapter here (see the README). */
export const WEBGPU_RUNTIMES: readonly Runtime[] = ['browser'];

/** Every optional core-op feature; all run in the one attention kernel. */
export const WEBGPU_CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

const OPTION_KEYS = new Set(['name', 'gpu', 'powerPreference', 'attentionKernel']);

/**
 * Builds a WebGPU backend. The device is requested on the first `createModule` or `attention` call
 * (not here), so building a backend never fails; without WebGPU, those calls reject with
 * `MHA_BACKEND_UNAVAILABLE`. If the device is lost, calls on modules built on it reject with
 * `MHA_BACKEND_UNAVAILABLE`, and the next `createModule` / `attention` requests a new device.
 *
 * `diagnostics()` counts live `modules` (module kernels, and native projections of lowered module calls), GPU
 * `buffers` and compiled `pipelines`.
 *
 * @throws MhaError `MHA_INVALID_OPTION` / `MHA_INVALID_TYPE` for an unknown or mistyped option.
 */
export function createWebGpuBackend(options: WebGpuBackendOptions = {}): MhaBackend {
  if (typeof options !== 'object' || options === null) throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${[...OPTION_KEYS].join(', ')}`);
  }
  const name = options.name ?? 'webgpu';
  if (typeof name !== 'string' || name === '') throw new MhaError(MhaErrorCode.InvalidType, 'options.name', name, 'must be a non-empty string');
  const pp = options.powerPreference;
  if (pp !== undefined && pp !== 'low-power' && pp !== 'high-performance') {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.powerPreference', pp, "expected 'low-power' or 'high-performance'");
  }
  const choice = options.attentionKernel ?? 'auto';
  if (choice !== 'auto' && choice !== 'per-row') throw new MhaError(MhaErrorCode.InvalidOption, 'options.attentionKernel', choice, "expected 'auto' or 'per-row'");
  const hasGpuOption = Object.hasOwn(options, 'gpu');
  const gpuOption = options.gpu;

  let current: Promise<GpuContext> | undefined;
  let opWorkspace: { ctx: GpuContext; ws: Workspace } | undefined;
  const opQueue = new SerialQueue();
  let modules = 0;

  /** The live context, acquiring a device on first use or after a loss. A failed attempt is not cached. */
  function context(): Promise<GpuContext> {
    if (current === undefined) {
      const attempt = acquireDevice(hasGpuOption ? gpuOption : defaultGpu(), pp).then((h) => new GpuContext(h));
      current = attempt;
      attempt.then(
        (ctx) => {
          void ctx.handle.lost.catch(() => {
            if (current === attempt) current = undefined;
            if (opWorkspace?.ctx === ctx) opWorkspace = undefined;
          });
        },
        () => {
          if (current === attempt) current = undefined;
        },
      );
    }
    return current;
  }

  async function coreOp(a: ValidAttention) {
    const ctx = await context();
    if (opWorkspace === undefined || opWorkspace.ctx !== ctx) opWorkspace = { ctx, ws: new Workspace(ctx, 'attention') };
    return runCoreOp(ctx, opWorkspace.ws, a, choice);
  }

  let lastCtx: GpuContext | undefined;
  return defineBackend({
    name,
    runtimes: WEBGPU_RUNTIMES,
    capabilities: WEBGPU_CAPABILITIES,
    async createKernel(config, weights) {
      const ctx = await context();
      lastCtx = ctx;
      const kernel = await createModuleKernel(ctx, config, weights, () => modules--, choice);
      modules++;
      return kernel;
    },
    // Counted with the modules: its buffers live on this device until the module's dispose().
    async createProjection(inW, n, w, b) {
      const ctx = await context();
      lastCtx = ctx;
      const projection = await createProjection(ctx, inW, n, w, b, () => modules--);
      modules++;
      return projection;
    },
    // Calls wait their turn (one workspace), so inputs are read late: core hands the kernels private
    // copies (readsInputsSynchronously is left false).
    attention: (a) => opQueue.run(() => coreOp(a)),
    async dispose() {
      await opQueue.idle();
      opWorkspace?.ws.destroy();
      opWorkspace = undefined;
      // Modules stay the caller's: the device is released only when none is alive.
      if (modules === 0 && current !== undefined) {
        const pending = current;
        current = undefined;
        const ctx = await pending.catch(() => undefined);
        ctx?.device.destroy();
        if (lastCtx === ctx) lastCtx = undefined;
      }
    },
    diagnostics() {
      const c = opWorkspace?.ctx ?? lastCtx;
      return { modules, buffers: c?.counters.buffers ?? 0, pipelines: c?.counters.pipelines ?? 0 };
    },
  });
}

/** A WebGPU backend with default options (`navigator.gpu`, name `webgpu`). */
export const webgpuBackend: MhaBackend = createWebGpuBackend();
