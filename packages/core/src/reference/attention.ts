import type { ValidAttention } from '../validate.js';
import { maskStrides } from '../validate.js';
import { causalVisibleKeys } from './causal-mask.js';
import { softmaxInPlace } from './softmax.js';

/** Result of the float64 reference core op. */
export interface ReferenceAttentionResult {
  /** `[B, Hq, Tq, dv]` */
  readonly output: Float64Array;
  /** `[B, Hq, Tq, Tk]` */
  readonly weights: Float64Array;
}

/**
 * The attention core op in float64, written for clarity rather than speed. Query head `h` reads
 * KV head `floor(h / (Hq / Hkv))` (grouped-query mapping of ONNX and PyTorch). One step is float32 on
 * purpose: the additive-mask add, `fround(fround(s) + m)` (SPEC.md, "Masks in float32").
 */
export function referenceAttentionValid(
  a: Omit<ValidAttention, 'q' | 'k' | 'v'> & { q: ArrayLike<number>; k: ArrayLike<number>; v: ArrayLike<number> },
): ReferenceAttentionResult {
  const { batch: B, qHeads: Hq, kvHeads: Hkv, tq, tk, dk, dv, scale, softcap, causal, mask } = a;
  const group = Hkv === 0 ? 1 : Hq / Hkv;
  const output = new Float64Array(B * Hq * tq * dv);
  const weights = new Float64Array(B * Hq * tq * tk);
  const ms = mask ? maskStrides(mask, [B, Hq, tq, tk]) : undefined;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / group);
      const kBase = (b * Hkv + kvh) * tk;
      for (let i = 0; i < tq; i++) {
        const qOff = ((b * Hq + h) * tq + i) * dk;
        const row = ((b * Hq + h) * tq + i) * tk;
        const visible = causal ? causalVisibleKeys(i, tk) : tk;
        for (let j = 0; j < tk; j++) {
          if (j >= visible) {
            weights[row + j] = -Infinity;
            continue;
          }
          let s = 0;
          for (let d = 0; d < dk; d++) s += a.q[qOff + d]! * a.k[(kBase + j) * dk + d]!;
          s *= scale;
          if (softcap > 0) s = softcap * Math.tanh(s / softcap);
          if (mask && ms) {
            const m = mask.data[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]!;
            // Scores and the additive mask are float32 values, as in float32 PyTorch and ONNX: the sum is
            // rounded to float32, so a large finite mask value absorbs the score (a row of -1e9 over
            // small scores gives uniform weights on every backend). See SPEC.md, "Masks in float32".
            if (mask.kind === 'bool') s = m ? s : -Infinity;
            else s = Math.fround(Math.fround(s) + m);
          }
          weights[row + j] = s;
        }
        softmaxInPlace(weights, row, tk);
        const oOff = ((b * Hq + h) * tq + i) * dv;
        for (let j = 0; j < tk; j++) {
          const w = weights[row + j]!;
          if (w === 0) continue;
          const vOff = (kBase + j) * dv;
          for (let d = 0; d < dv; d++) output[oOff + d]! += w * a.v[vOff + d]!;
        }
      }
    }
  }
  return { output, weights };
}
