// Deliberately broken backends for the overflow policy (SPEC.md, "Non-finite values"): float32 scores that
// leave the range. Meta-tests: src/meta-overflow.test.ts.
import { defineBackend, linear64, type MhaBackend } from '@mha/core';

/** The bugs {@link overflowBuggyBackend} can inject; `none` rounds scores to float32 and handles overflow. */
export const OVERFLOW_BUGS = ['none', 'overflowed-row-as-masked'] as const;

/** One of {@link OVERFLOW_BUGS}. */
export type OverflowBug = (typeof OVERFLOW_BUGS)[number];

/**
 * Attention over `[B, H, T, d]` with scores rounded to float32, as a float32 kernel stores them. A row whose
 * scores all overflow to -Infinity is the trap: `overflowed-row-as-masked` takes "max is -Infinity" to mean
 * "every key is masked" and writes zeros (a finite wrong answer core cannot see); `none` knows no key is
 * masked here and lets `-inf - -inf` give NaN, which core raises as MHA_OVERFLOW.
 */
function attention(bug: OverflowBug, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, H: number, Hkv: number, tq: number, tk: number, d: number, scale: number) {
  const out = new Float32Array(B * H * tq * d);
  const w = new Float32Array(B * H * tq * tk);
  const s = new Float64Array(tk);
  for (let bh = 0; bh < B * H; bh++) {
    // The key/value head of query head bh % H (grouped-query heads share it).
    const kv = Math.floor(bh / H) * Hkv + Math.floor((bh % H) / (H / Hkv));
    for (let i = 0; i < tq; i++) {
      let max = -Infinity;
      for (let j = 0; j < tk; j++) {
        let x = 0;
        for (let c = 0; c < d; c++) x += q[(bh * tq + i) * d + c]! * k[(kv * tk + j) * d + c]!;
        s[j] = Math.fround(x * scale);
        max = Math.max(max, s[j]!);
      }
      if (bug === 'overflowed-row-as-masked' && max === -Infinity) continue;
      let sum = 0;
      for (let j = 0; j < tk; j++) sum += s[j] = Math.exp(s[j]! - max);
      for (let j = 0; j < tk; j++) {
        const p = s[j]! / sum;
        w[(bh * tq + i) * tk + j] = p;
        for (let c = 0; c < d; c++) out[(bh * tq + i) * d + c]! += p * v[(kv * tk + j) * d + c]!;
      }
    }
  }
  return { out, w };
}

/** A backend (self-attention modules without masks; core op without masks, with GQA) with one overflow bug. */
export function overflowBuggyBackend(bug: OverflowBug): MhaBackend {
  return defineBackend({
    name: `buggy-overflow-${bug}`,
    runtimes: ['node'],
    capabilities: ['cross-attention', 'grouped-query'],
    createKernel(cfg, wts) {
      return {
        forward({ x, batch: B, tokens: T }, opts) {
          const { dIn, dOut, heads: H, headDim: dh } = cfg;
          const split = (flat: Float64Array) => {
            const o = new Float64Array(flat.length);
            for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let c = 0; c < dh; c++) o[((b * H + h) * T + t) * dh + c] = Math.fround(flat[(b * T + t) * dOut + h * dh + c]!);
            return o;
          };
          const q = split(linear64(x, B * T, dIn, wts.wq, dOut, wts.bq));
          const k = split(linear64(x, B * T, dIn, wts.wk, dOut, wts.bk));
          const v = split(linear64(x, B * T, dIn, wts.wv, dOut, wts.bv));
          const r = attention(bug, q, k, v, B, H, H, T, T, dh, cfg.scale);
          const merged = new Float64Array(B * T * dOut);
          for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let c = 0; c < dh; c++) merged[(b * T + t) * dOut + h * dh + c] = r.out[((b * H + h) * T + t) * dh + c]!;
          const out = cfg.outProj ? linear64(merged, B * T, dOut, wts.wo!, dOut, wts.bo) : merged;
          return { output: Float32Array.from(out), attentionWeights: opts.returnAttentionWeights ? r.w : undefined };
        },
      };
    },
    attention(a) {
      const r = attention(bug, a.q, a.k, a.v, a.batch, a.qHeads, a.kvHeads, a.tq, a.tk, a.dk, a.scale);
      return { output: r.out, weights: a.returnWeights ? r.w : undefined };
    },
  });
}
