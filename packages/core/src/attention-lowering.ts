import type { AttentionMask, WeightsStage } from './attention-options.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { causalVisibleKeys } from './reference/causal-mask.js';
import { maskStrides, type ValidAttention, type ValidAttentionCall } from './validate.js';

/*
 * The KV-cache features of the core op (past/present, nonpad_kv_seqlen, bottom-right causal, a mask
 * shorter than the key axis) lowered onto the plain op every kernel already implements: core prepends
 * the past to k/v and folds every position rule into one mask, so a kernel sees `q`, the full `k`/`v`,
 * top-left causal only when it is the whole rule, and a mask. No kernel interface change.
 */

/** `[B, H, P, d]` ++ `[B, H, T, d]` along the sequence axis -> `[B, H, P + T, d]` (a fresh array). */
export function concatSequence(past: Float32Array, next: Float32Array, batchHeads: number, p: number, t: number, d: number): Float32Array {
  const out = new Float32Array(batchHeads * (p + t) * d);
  for (let bh = 0; bh < batchHeads; bh++) {
    const o = bh * (p + t) * d;
    out.set(past.subarray(bh * p * d, (bh + 1) * p * d), o);
    out.set(next.subarray(bh * t * d, (bh + 1) * t * d), o + p * d);
  }
  return out;
}

/**
 * Causal offset of batch row `b`: query `i` sees keys `j <= i + offset` (SPEC.md, "KV cache"): the past
 * length with a past, `nonpad[b] - Tq` with `nonpadKvSeqlen`, else 0 (top-left).
 */
export function causalOffset(c: Pick<ValidAttentionCall, 'pastLength' | 'nonpadKvSeqlen' | 'tq'>, b: number): number {
  if (c.pastLength > 0) return c.pastLength;
  if (c.nonpadKvSeqlen) return c.nonpadKvSeqlen[b]! - c.tq;
  return 0;
}

/** The user's mask, causal with an offset, nonpad padding and key-axis padding folded into one mask, or the user's mask when none applies. */
function lowerMask(c: ValidAttentionCall, total: number): AttentionMask | undefined {
  const { batch: B, qHeads: Hq, tq, causal, pastLength: P, nonpadKvSeqlen: nonpad } = c;
  const user = c.mask;
  const userKeys = user ? user.shape[user.shape.length - 1]! : total;
  const padded = user !== undefined && userKeys !== 1 && userKeys < total;
  // With a past, row 0 sees P + 1 keys: a restriction only when more than one new key came in.
  const causalMask = causal && (nonpad !== undefined || (P > 0 && P + 1 < total));
  if (!padded && nonpad === undefined && !causalMask) return user;
  const full = [1, 1, 1, 1];
  if (user) user.shape.forEach((d, i) => (full[4 - user.shape.length + i] = d));
  const Bm = nonpad !== undefined || full[0]! > 1 ? B : 1;
  const Hm = full[1]! > 1 ? Hq : 1;
  const additive = user?.kind === 'additive';
  const data = additive ? new Float32Array(Bm * Hm * tq * total) : new Uint8Array(Bm * Hm * tq * total);
  const ms = user ? maskStrides(user, [B, Hq, tq, padded ? userKeys : total]) : undefined;
  for (let b = 0; b < Bm; b++) {
    const offset = causalOffset(c, b);
    for (let h = 0; h < Hm; h++) {
      for (let i = 0; i < tq; i++) {
        let visible = nonpad ? nonpad[b]! : total;
        if (causalMask) visible = Math.min(visible, Math.max(0, i + offset + 1));
        if (padded) visible = Math.min(visible, userKeys);
        const row = ((b * Hm + h) * tq + i) * total;
        const uBase = ms ? b * ms[0] + h * ms[1] + i * ms[2] : 0;
        for (let j = 0; j < total; j++) {
          if (j >= visible) data[row + j] = additive ? -Infinity : 0;
          else data[row + j] = user && ms ? user.data[uBase + j * ms[3]]! : 1;
        }
      }
    }
  }
  return { kind: additive ? 'additive' : 'bool', data, shape: [Bm, Hm, tq, total] };
}

/**
 * The plain call a kernel runs for a public core-op call: `k`/`v` with the past prepended (`tk` = past + new),
 * causal kept only when it is top-left over all keys, every other position rule in `mask`, and weights
 * requested from the kernel only for the `'softmax'` stage (core computes the other stages).
 */
export function lowerAttention(c: ValidAttentionCall): ValidAttention {
  const total = c.pastLength + c.tk;
  const bh = c.batch * c.kvHeads;
  // A cache's keys were validated when appended: one gather, no scan.
  const k = c.cache ? c.cache.gather('keys', c.k, c.tk) : c.pastKey ? concatSequence(c.pastKey, c.k, bh, c.pastLength, c.tk, c.dk) : c.k;
  const v = c.cache ? c.cache.gather('values', c.v, c.tk) : c.pastValue ? concatSequence(c.pastValue, c.v, bh, c.pastLength, c.tk, c.dv) : c.v;
  return {
    q: c.q,
    k,
    v,
    batch: c.batch,
    qHeads: c.qHeads,
    kvHeads: c.kvHeads,
    tq: c.tq,
    tk: total,
    dk: c.dk,
    dv: c.dv,
    causal: c.causal && c.pastLength === 0 && c.nonpadKvSeqlen === undefined,
    scale: c.scale,
    defaultScale: c.defaultScale,
    softcap: c.softcap,
    mask: lowerMask(c, total),
    returnWeights: c.returnWeights && c.weightsStage === 'softmax',
  };
}

/**
 * A score stage before the softmax (`'scores'`, `'softcapped'`, `'masked'`), `[B, Hq, Tq, Tk]`, computed by
 * core for every backend from the lowered call: each score is the float64 dot product times the scale,
 * soft-capped in float64, rounded to float32; `'masked'` then adds the mask in float32 (as every kernel
 * does, SPEC.md "Masks in float32") and holds `-Infinity` where causal, a bool mask or padding hides a key.
 * Identical on every backend by construction.
 *
 * @throws MhaError `MHA_OVERFLOW` when a score leaves the float32 range.
 */
export function scoreStage(a: ValidAttention, stage: Exclude<WeightsStage, 'softmax'>): Float32Array {
  const { batch: B, qHeads: Hq, kvHeads: Hkv, tq, tk, dk, scale, softcap, mask } = a;
  const group = Hkv === 0 ? 1 : Hq / Hkv;
  const out = new Float32Array(B * Hq * tq * tk);
  const ms = mask ? maskStrides(mask, [B, Hq, tq, tk]) : undefined;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kBase = (b * Hkv + Math.floor(h / group)) * tk;
      for (let i = 0; i < tq; i++) {
        const qOff = ((b * Hq + h) * tq + i) * dk;
        const row = ((b * Hq + h) * tq + i) * tk;
        const visible = a.causal ? causalVisibleKeys(i, tk) : tk;
        for (let j = 0; j < tk; j++) {
          let s = 0;
          for (let d = 0; d < dk; d++) s += a.q[qOff + d]! * a.k[(kBase + j) * dk + d]!;
          s *= scale;
          if (stage !== 'scores' && softcap > 0) s = softcap * Math.tanh(s / softcap);
          let f = Math.fround(s);
          if (!Number.isFinite(f)) throw new MhaError(MhaErrorCode.Overflow, `weights[${row + j}]`, f, `the ${stage} stage left the float32 range`);
          if (stage === 'masked') {
            if (j >= visible) f = -Infinity;
            else if (mask && ms) {
              const m = mask.data[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]!;
              f = mask.kind === 'bool' ? (m ? f : -Infinity) : Math.fround(f + m);
            }
          }
          out[row + j] = f;
        }
      }
    }
  }
  return out;
}
