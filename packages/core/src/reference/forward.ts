import type { AttentionOptions } from '../attention-options.js';
import { resolveConfig, type MhaConfig, type ResolvedMhaConfig } from '../config.js';
import type { Tensor } from '../tensor.js';
import { expectedTrace, type ShapeTrace } from '../trace.js';
import { validateAttention, validateInput } from '../validate.js';
import { lowerAttention } from '../attention-lowering.js';
import { validateWeights, type MhaWeights } from '../weights.js';
import { referenceAttentionValid } from './attention.js';
import { linear64 } from './linear.js';
import { mergeHeads, splitHeads } from './split-heads.js';

/** Output of {@link referenceForward}: float64 tensors. */
export interface ReferenceForwardResult {
  /** `[B, T, dOut]` */
  readonly output: Tensor<Float64Array>;
  /** `[B, heads, T, T]` */
  readonly attentionWeights: Tensor<Float64Array>;
  /** Every intermediate, keyed by trace step, for debugging a backend step by step. */
  readonly intermediates: Readonly<Record<'q' | 'k' | 'v' | 'context' | 'merged', Float64Array>>;
  readonly trace: ShapeTrace;
}

/**
 * The float64 reference MHA forward, following the PyTorch modules step by step: project, split heads,
 * scores, scale, causal mask, max-subtracted softmax, weights x V, merge heads, output projection.
 * Inputs are float32 (what backends receive); all arithmetic is float64, so it is the yardstick
 * for float32 backends.
 *
 * @example
 * const cfg = resolveConfig({ dIn: 3, dOut: 2, heads: 2, causal: true });
 * const ref = referenceForward(cfg, initWeights(cfg, 1), { data: new Float32Array(18), shape: [1, 6, 3] });
 */
export function referenceForward(config: MhaConfig | ResolvedMhaConfig, weights: MhaWeights, x: Tensor): ReferenceForwardResult {
  const cfg = resolveConfig(config);
  const w = validateWeights(cfg, weights);
  const { x: data, batch: B, tokens: T } = validateInput(cfg, x);
  const { dIn, dOut, heads: H, headDim: dh } = cfg;
  const rows = B * T;
  // Project: [B*T, dIn] @ [dIn, dOut] (+ bias) for each of q, k, v.
  const qFlat = linear64(data, rows, dIn, w.wq, dOut, w.bq);
  const kFlat = linear64(data, rows, dIn, w.wk, dOut, w.bk);
  const vFlat = linear64(data, rows, dIn, w.wv, dOut, w.bv);
  // Split heads: [B, T, H*dh] -> [B, H, T, dh].
  const q = splitHeads(qFlat, B, T, H, dh);
  const k = splitHeads(kFlat, B, T, H, dh);
  const v = splitHeads(vFlat, B, T, H, dh);
  const { output: context, weights: attn } = referenceAttentionValid({
    q,
    k,
    v,
    batch: B,
    qHeads: H,
    kvHeads: H,
    tq: T,
    tk: T,
    dk: dh,
    dv: dh,
    causal: cfg.causal,
    scale: cfg.scale,
    defaultScale: cfg.defaultScale,
    softcap: 0,
    mask: undefined,
    returnWeights: true,
  });
  const merged = mergeHeads(context, B, T, H, dh);
  const output = cfg.outProj ? linear64(merged, rows, dOut, w.wo!, dOut, w.bo) : merged;
  return {
    output: { data: output, shape: [B, T, dOut] },
    attentionWeights: { data: attn, shape: [B, H, T, T] },
    intermediates: { q, k, v, context, merged },
    trace: expectedTrace(cfg, B, T),
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
