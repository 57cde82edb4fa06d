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
import { causalVisibleKeys } from './causal-mask.js';
import { MhaError, MhaErrorCode } from '../errors.js';
import { maskStrides } from '../validate.js';
import type { AttentionMask } from '../attention-options.js';
import { mergeHeads, splitHeads } from './split-heads.js';

/** Output of {@link referenceForward}: float64 tensors. */
export interface ReferenceForwardResult {
  /** `[B, Tq, dOut]` */
  readonly output: Tensor<Float64Array>;
  /** `[B, heads, Tq, Tk]` */
  readonly attentionWeights: Tensor<Float64Array>;
  /** `[B, Tq, Tk]`: `attentionWeights` averaged over heads. */
  readonly averagedWeights: Tensor<Float64Array>;
  /**
   * The score stages before the softmax (`weightsStage`), `[B, heads, Tq, Tk]`: `scores` = `scale * q k^T` at
   * every position (a module has no soft-cap, so it is also `'softcapped'`); `masked` = the scores with every
   * mask applied (the additive add in float32, SPEC.md "Masks in float32"), `-Infinity` where a key is hidden.
   */
  readonly stages: Readonly<Record<'scores' | 'masked', Tensor<Float64Array>>>;
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
  // A cache holds float32 keys of earlier calls: the yardstick runs the whole sequence instead.
  if (call.cache) throw new MhaError(MhaErrorCode.InvalidOption, 'options.cache', 'reference', 'the reference has no cache: run the whole sequence (with keyPaddingMask for padding)');
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
  const stages = scoreStages(q, k, { batch: B, heads: H, kvHeads: Hkv, tq, tk, dh, scale: cfg.scale, causal, mask });
  const merged = mergeHeads(context, B, tq, H, dh);
  const output = cfg.outProj ? linear64(merged, B * tq, dOut, w.wo!, dOut, w.bo) : merged;
  const averaged = new Float64Array(B * tq * tk);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let p = 0; p < tq * tk; p++) averaged[b * tq * tk + p]! += attn[(b * H + h) * tq * tk + p]! / H;
  return {
    output: { data: output, shape: [B, tq, dOut] },
    attentionWeights: { data: attn, shape: [B, H, tq, tk] },
    averagedWeights: { data: averaged, shape: [B, tq, tk] },
    stages: { scores: { data: stages.scores, shape: [B, H, tq, tk] }, masked: { data: stages.masked, shape: [B, H, tq, tk] } },
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

/** Float64 `scale * q k^T` per head, and the same with the mask applied (`-Infinity` where hidden). */
function scoreStages(
  q: Float64Array,
  k: Float64Array,
  c: { batch: number; heads: number; kvHeads: number; tq: number; tk: number; dh: number; scale: number; causal: boolean; mask: AttentionMask | undefined },
): { scores: Float64Array; masked: Float64Array } {
  const { batch: B, heads: H, kvHeads: Hkv, tq, tk, dh, mask } = c;
  const scores = new Float64Array(B * H * tq * tk);
  const masked = new Float64Array(B * H * tq * tk);
  const ms = mask ? maskStrides(mask, [B, H, tq, tk]) : undefined;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kBase = (b * Hkv + Math.floor(h / (H / Hkv))) * tk;
      for (let i = 0; i < tq; i++) {
        const row = ((b * H + h) * tq + i) * tk;
        const visible = c.causal ? causalVisibleKeys(i, tk) : tk;
        for (let j = 0; j < tk; j++) {
          let s = 0;
          for (let d = 0; d < dh; d++) s += q[((b * H + h) * tq + i) * dh + d]! * k[(kBase + j) * dh + d]!;
          s *= c.scale;
          scores[row + j] = s;
          let m = j < visible ? s : -Infinity;
          if (m !== -Infinity && mask && ms) {
            const v = mask.data[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]!;
            m = mask.kind === 'bool' ? (v ? s : -Infinity) : Math.fround(Math.fround(s) + v);
          }
          masked[row + j] = m;
        }
      }
    }
  }
  return { scores, masked };
}
