import type { AttentionOptions } from './attention-options.js';
import type { AttentionResult, ForwardResult, KernelForwardResult, MhaBackend, ModuleKernel } from './backend.js';
import type { ResolvedMhaConfig } from './config.js';
import type { Tensor } from './tensor.js';
import type { ValidAttention, ValidInput } from './validate.js';
import type { MhaWeights } from './weights.js';

/*
 * Helpers for a backend that hands some or all of its work to another {@link MhaBackend} (a fallback
 * for a capability it lacks, a wrapper that adds logging, a device router). Kernels receive validated,
 * flattened inputs; these rebuild the public tensors and options from them, and turn the other
 * backend's results back into kernel results. The data is passed through, not copied: the other
 * backend's core copies it again if it needs to (see `readsInputsSynchronously`).
 *
 * @example
 * import { tsBackend as fallback } from '@mha/backend-ts';
 * export const myBackend = defineBackend({
 *   name: 'mine', runtimes: ['node'], capabilities: [...fallback.capabilities],
 *   createKernel: (config, weights) => delegateKernel(fallback, config, weights),
 *   async attention(a) {
 *     if (a.mask) return attentionResult(await fallback.attention(...attentionArgs(a)));
 *     return myFastKernel(a);
 *   },
 * });
 */

/** `x` of a module kernel as the `[batch, tokens, dIn]` tensor the public `forward` takes. */
export function inputTensor(config: ResolvedMhaConfig, valid: ValidInput): Tensor {
  return { data: valid.x, shape: [valid.batch, valid.tokens, config.dIn] };
}

/**
 * The arguments of `MhaBackend.attention(q, k, v, options)` that reproduce a validated core-op call.
 * The scale is omitted when it was the default (so the other backend sees the same `defaultScale`),
 * and softcap when it was off (so no `softcap` capability is required of the other backend).
 */
export function attentionArgs(a: ValidAttention): [q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions] {
  const options: AttentionOptions = { causal: a.causal, returnWeights: a.returnWeights };
  if (!a.defaultScale) options.scale = a.scale;
  if (a.softcap > 0) options.softcap = a.softcap;
  if (a.mask) options.mask = a.mask;
  return [
    { data: a.q, shape: [a.batch, a.qHeads, a.tq, a.dk] },
    { data: a.k, shape: [a.batch, a.kvHeads, a.tk, a.dk] },
    { data: a.v, shape: [a.batch, a.kvHeads, a.tk, a.dv] },
    options,
  ];
}

/** A public core-op result as what a backend's `attention` kernel returns. */
export function attentionResult(r: AttentionResult): { output: Float32Array; weights?: Float32Array | undefined } {
  return { output: r.output.data, weights: r.weights?.data };
}

/** A public `forward` result as what a module kernel returns. */
export function kernelResult(r: ForwardResult): KernelForwardResult {
  return { output: r.output.data, attentionWeights: r.attentionWeights?.data, trace: r.trace };
}

/**
 * A module kernel that builds a module on `other` (with the already validated config and weights) and
 * forwards every call to it; disposing the kernel disposes that module.
 *
 * @example
 * createKernel: (config, weights) => delegateKernel(otherBackend, config, weights),
 */
export async function delegateKernel(other: Pick<MhaBackend, 'createModule'>, config: ResolvedMhaConfig, weights: Readonly<MhaWeights>): Promise<ModuleKernel> {
  const module = await other.createModule(config, weights as MhaWeights);
  return {
    async forward(input, options) {
      return kernelResult(await module.forward(inputTensor(config, input), { returnAttentionWeights: options.returnAttentionWeights, trace: options.trace }));
    },
    dispose: () => module.dispose(),
  };
}
