import type { AttentionOptions } from '../attention-options.js';
import { resolveConfig, type MhaConfig, type ResolvedMhaConfig } from '../config.js';
import type { Tensor } from '../tensor.js';
import { lowerAttention } from '../attention-lowering.js';
import { combinedMask, moduleTrace, validateModuleCall } from '../module-options.js';
import type { ShapeTrace } from '../trace.js';
import { validateAttention, type ForwardOptions } from '../validate.js';
import { validateWeights, type MhaWeights } from '../weights.js';
import { referenceAttentionValid } from './attention.js';
import { linear64 } from './linear.js';
import { mergeHeads, splitHeads } from './split-heads.js';

/** Output of {@link referenceForward}: float64 tensors. */
export interface ReferenceForwardResult {
  /** `[B, Tq, dOut]` */
  readonly output: Tensor<Float64Array>;
  /** `[B, heads, Tq, Tk]` */
  readonly attentionWeights: Tensor<Float64Array>;
  /** `[B, Tq, Tk]`: `attentionWeights` averaged over heads. */
  readonly averagedWeights: Tensor<Float64Array>;
  /** Every intermediate, keyed by trace step, for debugging a backend step by step. */
  readonly intermediates: Readonly<Record<'q' | 'k' | 'v' | 'context' | 'merged', Float64Array>>;
  readonly trace: ShapeTrace;
}

/**
 * The float64 reference MHA forward, following the PyTorch modules step by step: project, split heads,
 * scores, scale, mask (causal, attention and key-padding masks), max-subtracted softmax, weights x V,
 * merge heads, output projection. `options` are the module's {@link ForwardOptions} (cross-attention
 * `key`/`value`, masks, `causalAlign`); the weights are always returned, per head and averaged.
 * Inputs are float32 (what backends receive); all arithmetic is float64 (except the float32 mask add,
 * SPEC.md "Masks in float32"), so it is the yardstick for float32 backends.
 *
 * @example
 * const cfg = resolveConfig({ dIn: 3, dOut: 2, heads: 2, causal: true });
 * const ref = referenceForward(cfg, initWeights(cfg, 1), { data: new Float32Array(18), shape: [1, 6, 3] });
 */
export function referenceForward(config: MhaConfig | ResolvedMhaConfig, weights: MhaWeights, x: Tensor, options?: ForwardOptions): ReferenceForwardResult {
  const cfg = resolveConfig(config);
  const w = validateWeights(cfg, weights);
  const call = validateModuleCall(cfg, x, options);
  const { batch: B, tq, tk } = call;
  const { dIn, dOut, heads: H, kvHeads: Hkv, headDim: dh } = cfg;
  const dKv = Hkv * dh;
  // Project: [B*T, in] @ [in, out] (+ bias) for each of q, k, v.
  const qFlat = linear64(call.x, B * tq, dIn, w.wq, dOut, w.bq);
  const kFlat = linear64(call.key, B * tk, cfg.kdim, w.wk, dKv, w.bk);
  const vFlat = linear64(call.value, B * tk, cfg.vdim, w.wv, dKv, w.bv);
  // Split heads: [B, T, H*dh] -> [B, H, T, dh].
  const q = splitHeads(qFlat, B, tq, H, dh);
  const k = splitHeads(kFlat, B, tk, Hkv, dh);
  const v = splitHeads(vFlat, B, tk, Hkv, dh);
  const { mask, causal } = combinedMask(cfg, call);
  const { output: context, weights: attn } = referenceAttentionValid({
    q,
    k,
    v,
    batch: B,
    qHeads: H,
    kvHeads: Hkv,
    tq,
    tk,
    dk: dh,
    dv: dh,
    causal,
    scale: cfg.scale,
    defaultScale: cfg.defaultScale,
    softcap: 0,
    mask,
    returnWeights: true,
  });
  const merged = mergeHeads(context, B, tq, H, dh);
  const output = cfg.outProj ? linear64(merged, B * tq, dOut, w.wo!, dOut, w.bo) : merged;
  const averaged = new Float64Array(B * tq * tk);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let p = 0; p < tq * tk; p++) averaged[b * tq * tk + p]! += attn[(b * H + h) * tq * tk + p]! / H;
  return {
    output: { data: output, shape: [B, tq, dOut] },
    attentionWeights: { data: attn, shape: [B, H, tq, tk] },
    averagedWeights: { data: averaged, shape: [B, tq, tk] },
    intermediates: { q, k, v, context, merged },
    trace: moduleTrace(cfg, B, tq, tk),
  };
}

/**
 * The float64 reference core op on float32 inputs. Same validation as every backend.
 *
 * @example
 * const { output, weights } = referenceAttention(q, k, v, { causal: true });
 */
export function referenceAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options?: AttentionOptions,
): { output: Tensor<Float64Array>; weights: Tensor<Float64Array> } {
  const a = lowerAttention(validateAttention(q, k, v, options));
  const r = referenceAttentionValid(a);
  return {
    output: { data: r.output, shape: [a.batch, a.qHeads, a.tq, a.dv] },
    weights: { data: r.weights, shape: [a.batch, a.qHeads, a.tq, a.tk] },
  };
}
