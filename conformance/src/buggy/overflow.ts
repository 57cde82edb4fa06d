// Deliberately broken backends for the overflow policy (SPEC.md, "Non-finite values"): float32 scores that
// leave the range. Meta-tests: src/meta-overflow.test.ts.
import type { MhaBackend } from '@mha/core';
import { float64Backend, type Problem } from './float64-backend.js';

/** The bugs {@link overflowBuggyBackend} can inject; `none` rounds scores to float32 and handles overflow. */
export const OVERFLOW_BUGS = ['none', 'overflowed-row-as-masked'] as const;

/** One of {@link OVERFLOW_BUGS}. */
export type OverflowBug = (typeof OVERFLOW_BUGS)[number];

/**
 * Attention with q, k and scores rounded to float32, as a float32 kernel holds them. A row whose scores all
 * overflow to -Infinity is the trap: `overflowed-row-as-masked` takes "max is -Infinity" to mean "every key is
 * masked" and writes zeros (a finite wrong answer core cannot see); `none` knows no key is masked here and lets
 * `-inf - -inf` give NaN, which core raises as MHA_OVERFLOW. No masks, no softcap.
 */
function attention(bug: OverflowBug, p: Problem): { out: Float64Array; w: Float64Array } {
  const { B, Hq: H, Hkv, tq, tk, dk: d, q, k, v } = p;
  const out = new Float64Array(B * H * tq * d);
  const w = new Float64Array(B * H * tq * tk);
  const s = new Float64Array(tk);
  for (let bh = 0; bh < B * H; bh++) {
    // The key/value head of query head bh % H (grouped-query heads share it).
    const kv = Math.floor(bh / H) * Hkv + Math.floor((bh % H) / (H / Hkv));
    for (let i = 0; i < tq; i++) {
      let max = -Infinity;
      for (let j = 0; j < tk; j++) {
        let x = 0;
        for (let c = 0; c < d; c++) x += Math.fround(q[(bh * tq + i) * d + c]!) * Math.fround(k[(kv * tk + j) * d + c]!);
        s[j] = Math.fround(x * p.scale);
        max = Math.max(max, s[j]!);
      }
      if (bug === 'overflowed-row-as-masked' && max === -Infinity) continue;
      let sum = 0;
      for (let j = 0; j < tk; j++) sum += s[j] = Math.exp(s[j]! - max);
      for (let j = 0; j < tk; j++) {
        const pj = s[j]! / sum;
        w[(bh * tq + i) * tk + j] = pj;
        for (let c = 0; c < d; c++) out[(bh * tq + i) * d + c]! += pj * v[(kv * tk + j) * d + c]!;
      }
    }
  }
  return { out, w };
}

/** A float64 backend (every capability; this attention ignores masks and softcap) with one overflow bug. */
export function overflowBuggyBackend(bug: OverflowBug): MhaBackend {
  return float64Backend(`buggy-overflow-${bug}`, (p) => attention(bug, p));
}
