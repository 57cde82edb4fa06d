import * as tf from '@tensorflow/tfjs-core';
import { defineBackend, type Capability, type MhaBackend, type Runtime } from '@mha/core';
import { attentionOp } from './core-op.js';
import { exclusive } from './exclusive.js';
import { createModuleKernel, createProjection } from './module-kernel.js';
import { resolveTfjsBackendOptions, type ResolvedTfjsBackendOptions, type TfjsBackendName, type TfjsBackendOptions } from './options.js';

/** An {@link MhaBackend} computing on tfjs, with the options it was built with. */
export interface TfjsBackend extends MhaBackend {
  /** The resolved options: which tfjs backend, attention layout and wasm paths it uses. */
  readonly tfjs: ResolvedTfjsBackendOptions;
}

/** Every optional core-op feature; each is tested against the float64 reference on cpu and wasm. */
const CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

const RUNTIMES: Readonly<Record<TfjsBackendName, readonly Runtime[]>> = {
  cpu: ['node', 'browser'],
  wasm: ['node', 'browser'],
  webgl: ['browser'],
  webgpu: ['browser'],
};

/**
 * Creates the MHA backend `tfjs-<tfBackend>` (`tfjs-cpu`, `tfjs-wasm`, `tfjs-webgl`, `tfjs-webgpu`).
 *
 * Nothing is initialised until the first `createModule` / `attention` call. tfjs has one active backend
 * per process; every call of this package switches to its own backend inside a process-wide queue and
 * checks it is active before building tensors, so modules on different tfjs backends can be used side by
 * side (and concurrently) without computing on the wrong one. Code of yours that uses tfjs directly
 * should set its backend explicitly (`await tf.setBackend(...)`) after calling this package.
 * `backend.dispose()` resolves once every forward and core op of this package started before it has
 * finished and freed its tensors, however many times it is called at once (modules stay yours to dispose).
 *
 * @example
 * const backend = createTfjsBackend({ tfBackend: 'wasm' });
 * const mha = await backend.createModule({ dIn: 8, heads: 2, headDim: 4, causal: true }, weights);
 * const { output } = await mha.forward({ data: x, shape: [1, 5, 8] });
 * await mha.dispose();
 */
export function createTfjsBackend(options: TfjsBackendOptions = {}): TfjsBackend {
  const tfjs = resolveTfjsBackendOptions(options);
  const backend = defineBackend({
    name: `tfjs-${tfjs.tfBackend}`,
    runtimes: RUNTIMES[tfjs.tfBackend],
    capabilities: CAPABILITIES,
    createKernel: (config, weights) => createModuleKernel(config, weights, tfjs),
    attention: attentionOp(tfjs),
    createProjection: (inW, n, w, b) => createProjection(inW, n, w, b, tfjs),
    // No backend-level tensors of ours to free; queued behind every call made before it (forwards,
    // core ops), so once it resolves, for every caller of it, those have finished and freed theirs.
    dispose: () => exclusive(async () => undefined),
    // Engine-wide count (tfjs keeps one engine per process), read without initialising any backend.
    diagnostics: () => ({ tensors: tf.engine().state.numTensors }),
  });
  return Object.assign(backend, { tfjs });
}
