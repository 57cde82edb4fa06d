// Deliberately broken backends for kernels with an online softmax over key blocks (flash attention):
// the path without weights sweeps the keys in blocks of 64 with a running max `m` and sum `l` per query
// row, rescaling by `alpha = e^(m_old - m_new)` when the max grows; with weights it runs the exact
// two-pass softmax. Each bug is one such kernels are known to have. Meta-tests:
// src/meta-online-softmax.test.ts. (`fast-path-flash-no-rescale` in buggy/numeric.ts, blocks of 32,
// rescales neither the sum nor the accumulator.)
import type { AttentionMask, MhaBackend } from '@mha/core';
import { float64Backend, type Problem } from './float64-backend.js';

/** The bugs {@link onlineSoftmaxBuggyBackend} can inject; `none` is a correct online softmax. */
export const ONLINE_SOFTMAX_BUGS = ['none', 'accumulator-not-rescaled', 'sum-not-rescaled', 'masked-block-nan', 'masked-as-lowest'] as const;

/** One of {@link ONLINE_SOFTMAX_BUGS}. */
export type OnlineSoftmaxBug = (typeof ONLINE_SOFTMAX_BUGS)[number];

/** What each bug does, as a kernel author would describe the mistake. */
export const ONLINE_SOFTMAX_BUG_DESCRIPTIONS: Readonly<Record<OnlineSoftmaxBug, string>> = {
  none: 'no bug: online softmax over blocks of 64 keys in float64, the float32 mask add',
  'accumulator-not-rescaled': 'when the running max grows the sum is rescaled by e^(m_old - m_new) but the output accumulator is not',
  'sum-not-rescaled': 'when the running max grows the output accumulator is rescaled but the sum is not',
  'masked-block-nan': 'alpha = e^(m_old - m_new) is computed while the running max is still -Infinity (fully masked rows are caught at the end), so a row whose first block is all masked and a later key live becomes NaN',
  'masked-as-lowest': 'masked keys get float32 lowest instead of -Infinity and no row is treated as empty, so a fully masked row averages V instead of giving zeros',
};

/** Keys per block. */
const BLOCK = 64;
const LOWEST = -3.4028234663852886e38;


/** Element index of mask value (b, h, i, j), right-aligned broadcast. */
function maskIndex(m: AttentionMask, b: number, h: number, i: number, j: number): number {
  const dims = [...m.shape];
  while (dims.length < 4) dims.unshift(1);
  const at = [b, h, i, j].map((x, d) => (dims[d] === 1 ? 0 : x));
  return ((at[0]! * dims[1]! + at[1]!) * dims[2]! + at[2]!) * dims[3]! + at[3]!;
}

function attention(bug: OnlineSoftmaxBug, p: Problem): { out: Float64Array; w: Float64Array } {
  const { B, Hq, Hkv, tq, tk, dk, dv } = p;
  const out = new Float64Array(B * Hq * tq * dv);
  const w = new Float64Array(B * Hq * tq * tk);
  const s = new Float64Array(tk);
  const acc = new Float64Array(dv);
  const masked = bug === 'masked-as-lowest' ? LOWEST : -Infinity;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / (Hq / Hkv));
      const vAt = (j: number, d: number) => p.v[((b * Hkv + kvh) * tk + j) * dv + d]!;
      for (let i = 0; i < tq; i++) {
        const visible = p.causal ? Math.min(tk, i + 1) : tk;
        for (let j = 0; j < tk; j++) {
          if (j >= visible) {
            s[j] = masked;
            continue;
          }
          let x = 0;
          for (let d = 0; d < dk; d++) x += p.q[((b * Hq + h) * tq + i) * dk + d]! * p.k[((b * Hkv + kvh) * tk + j) * dk + d]!;
          x *= p.scale;
          if (p.softcap > 0) x = p.softcap * Math.tanh(x / p.softcap);
          if (p.mask) {
            const mv = p.mask.data[maskIndex(p.mask, b, h, i, j)]!;
            if (p.mask.kind === 'bool') x = mv !== 0 ? x : masked;
            else x = mv === -Infinity ? masked : Math.fround(Math.fround(x) + mv);
          }
          s[j] = x;
        }
        const o = ((b * Hq + h) * tq + i) * dv;
        if (p.fast) {
          let m = -Infinity;
          let l = 0;
          acc.fill(0);
          for (let j0 = 0; j0 < tk; j0 += BLOCK) {
            const end = Math.min(tk, j0 + BLOCK);
            let mNew = m;
            for (let j = j0; j < end; j++) mNew = Math.max(mNew, s[j]!);
            if (mNew === -Infinity) {
              // Nothing live yet: nothing to add or rescale. The bug rescales anyway, by e^(-inf - -inf) =
              // NaN, which poisons the sum and the accumulator for good.
              if (bug === 'masked-block-nan') {
                const alpha = Math.exp(m - mNew);
                l *= alpha;
                for (let d = 0; d < dv; d++) acc[d]! *= alpha;
              }
              continue;
            }
            const alpha = Math.exp(m - mNew);
            if (bug !== 'sum-not-rescaled') l *= alpha;
            if (bug !== 'accumulator-not-rescaled') for (let d = 0; d < dv; d++) acc[d]! *= alpha;
            for (let j = j0; j < end; j++) {
              const e = Math.exp(s[j]! - mNew);
              l += e;
              for (let d = 0; d < dv; d++) acc[d]! += e * vAt(j, d);
            }
            m = mNew;
          }
          // Zeros for a row with no live key (its max is still -Infinity; 'masked-as-lowest' has no such row).
          for (let d = 0; d < dv; d++) out[o + d] = m === -Infinity ? 0 : acc[d]! / l;
          continue;
        }
        let max = -Infinity;
        for (let j = 0; j < tk; j++) max = Math.max(max, s[j]!);
        if (max === -Infinity) continue; // every key masked: zeros
        let sum = 0;
        for (let j = 0; j < tk; j++) sum += s[j] = Math.exp(s[j]! - max);
        const row = ((b * Hq + h) * tq + i) * tk;
        for (let j = 0; j < tk; j++) {
          const wj = s[j]! / sum;
          w[row + j] = wj;
          for (let d = 0; d < dv; d++) out[o + d]! += wj * vAt(j, d);
        }
      }
    }
  return { out, w };
}

/** A float64 MHA backend (every capability) whose path without weights is an online softmax with one injectable bug. */
export function onlineSoftmaxBuggyBackend(bug: OnlineSoftmaxBug): MhaBackend {
  return float64Backend(`buggy-online-softmax-${bug}`, (p) => attention(bug, p));
}
