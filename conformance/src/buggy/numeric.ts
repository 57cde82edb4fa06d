// Deliberately broken backends for the numeric classes of conformance v2 (issue 11): each bug is one a
// real kernel can have and that the suite's cases before v2 could not see. Meta-tests:
// src/meta-numeric.test.ts.
import type { AttentionMask, MhaBackend } from '@mha/core';
import { float64Backend, type Problem } from './float64-backend.js';

/** The bugs {@link numericBuggyBackend} can inject; `none` is a correct independent implementation. */
export const NUMERIC_BUGS = [
  'none',
  // 1. A fast path taken only when no weights are requested.
  'fast-path-ignores-scale',
  'fast-path-flash-no-rescale',
  // 2. Sizes that cross kernel boundaries.
  'keys-past-256-dropped',
  'dot-tail-dropped',
  // 3. Feature combinations of the core op.
  'softcap-after-mask',
  'gqa-mask-by-kv-head',
  'causal-decode-sees-all',
  'bool-mask-equals-1',
  'lowest-treated-as-masked',
  'mask-add-float64',
  'nonpositive-scale-is-default',
  'rank3-mask-left-aligned',
  'mask-dense-last-dims',
] as const;

/** One of {@link NUMERIC_BUGS}. */
export type NumericBug = (typeof NUMERIC_BUGS)[number];

/** What each bug does, as a kernel author would describe the mistake. */
export const NUMERIC_BUG_DESCRIPTIONS: Readonly<Record<NumericBug, string>> = {
  none: 'no bug: float64 arithmetic with the float32 mask add, written independently of core',
  'fast-path-ignores-scale': 'the path without weights always uses 1/sqrt(dk), ignoring a configured or passed scale',
  'fast-path-flash-no-rescale': 'the path without weights runs an online softmax over blocks of 32 keys and never rescales earlier blocks when the max grows',
  'keys-past-256-dropped': 'the key loop is tiled by 256 and only the first tile runs',
  'dot-tail-dropped': 'the q.k dot product runs 8 lanes at a time and drops the last dk % 8 terms (dk >= 8)',
  'softcap-after-mask': 'soft-capping is applied after the mask (so -Infinity becomes -softcap)',
  'gqa-mask-by-kv-head': 'a per-head mask is indexed by the KV head instead of the query head',
  'causal-decode-sees-all': 'a decode kernel for Tq = 1 ignores causal (bottom-right alignment with no cache)',
  'bool-mask-equals-1': 'a bool mask byte attends only when it is exactly 1',
  'lowest-treated-as-masked': 'an additive value <= float32 lowest is treated as -Infinity',
  'mask-add-float64': 'the additive mask is added in float64 (no float32 rounding)',
  'nonpositive-scale-is-default': 'a scale <= 0 is taken as "unset" (scale || default)',
  'rank3-mask-left-aligned': 'a rank-3 mask is read as [B, Tq, Tk] (left-aligned) instead of [Hq, Tq, Tk]',
  'mask-dense-last-dims': 'the mask is indexed as if its last two dims were full [Tq, Tk] (no broadcast there)',
};

const LOWEST = -3.4028234663852886e38;


/** Element index of mask value (b, h, i, j), right-aligned broadcast, with the mask bugs. */
function maskIndex(bug: NumericBug, m: AttentionMask, p: Problem, b: number, h: number, i: number, j: number): number {
  let dims = [...m.shape];
  if (bug === 'rank3-mask-left-aligned' && dims.length === 3) dims = [dims[0]!, 1, dims[1]!, dims[2]!];
  while (dims.length < 4) dims.unshift(1);
  const head = bug === 'gqa-mask-by-kv-head' ? Math.floor(h / (p.Hq / p.Hkv)) : h;
  const at = [b, head, i, j].map((x, d) => (dims[d] === 1 ? 0 : x));
  if (bug === 'mask-dense-last-dims') return (at[0]! * dims[1]! + at[1]!) * dims[2]! * dims[3]! + i * p.tk + j;
  return ((at[0]! * dims[1]! + at[1]!) * dims[2]! + at[2]!) * dims[3]! + at[3]!;
}

function attention(bug: NumericBug, p: Problem): { out: Float64Array; w: Float64Array } {
  const { B, Hq, Hkv, tq, tk, dk, dv } = p;
  const out = new Float64Array(B * Hq * tq * dv);
  const w = new Float64Array(B * Hq * tq * tk);
  let scale = p.scale;
  if (bug === 'nonpositive-scale-is-default' && scale <= 0) scale = 1 / Math.sqrt(dk);
  if (bug === 'fast-path-ignores-scale' && p.fast) scale = 1 / Math.sqrt(dk);
  const dotLen = bug === 'dot-tail-dropped' && dk >= 8 ? dk - (dk % 8) : dk;
  const keyEnd = bug === 'keys-past-256-dropped' ? Math.min(tk, 256) : tk;
  const s = new Float64Array(tk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < tq; i++) {
        let visible = p.causal ? Math.min(tk, i + 1) : tk;
        if (bug === 'causal-decode-sees-all' && tq === 1) visible = tk;
        visible = Math.min(visible, keyEnd);
        for (let j = 0; j < tk; j++) {
          if (j >= visible) {
            s[j] = -Infinity;
            continue;
          }
          let x = 0;
          for (let d = 0; d < dotLen; d++) x += p.q[((b * Hq + h) * tq + i) * dk + d]! * p.k[((b * Hkv + kvh) * tk + j) * dk + d]!;
          x *= scale;
          if (p.softcap > 0 && bug !== 'softcap-after-mask') x = p.softcap * Math.tanh(x / p.softcap);
          if (p.mask) {
            const mv = p.mask.data[maskIndex(bug, p.mask, p, b, h, i, j)]!;
            if (p.mask.kind === 'bool') x = (bug === 'bool-mask-equals-1' ? mv === 1 : mv !== 0) ? x : -Infinity;
            else if (bug === 'lowest-treated-as-masked' && mv <= LOWEST) x = -Infinity;
            else x = bug === 'mask-add-float64' ? x + mv : Math.fround(Math.fround(x) + mv);
          }
          s[j] = x;
        }
        // Capping the masked row turns -Infinity (causal or mask) into -softcap: masked keys get weight.
        if (bug === 'softcap-after-mask' && p.softcap > 0) for (let j = 0; j < tk; j++) s[j] = p.softcap * Math.tanh(s[j]! / p.softcap);
        const row = ((b * Hq + h) * tq + i) * tk;
        const o = ((b * Hq + h) * tq + i) * dv;
        const vAt = (j: number, d: number) => p.v[((b * Hkv + kvh) * tk + j) * dv + d]!;
        if (bug === 'fast-path-flash-no-rescale' && p.fast && tk > 32) {
          // Online softmax over blocks of 32 keys, missing the exp(mOld - mNew) rescale of what came before.
          let m = -Infinity;
          let l = 0;
          const acc = new Float64Array(dv);
          for (let j0 = 0; j0 < tk; j0 += 32) {
            for (let j = j0; j < Math.min(tk, j0 + 32); j++) m = Math.max(m, s[j]!);
            if (m === -Infinity) continue;
            for (let j = j0; j < Math.min(tk, j0 + 32); j++) {
              const e = Math.exp(s[j]! - m);
              l += e;
              for (let d = 0; d < dv; d++) acc[d]! += e * vAt(j, d);
            }
          }
          for (let d = 0; d < dv; d++) out[o + d] = l > 0 ? acc[d]! / l : 0;
          continue;
        }
        let max = -Infinity;
        for (let j = 0; j < tk; j++) max = Math.max(max, s[j]!);
        if (max === -Infinity) continue; // every key masked: zeros
        let sum = 0;
        for (let j = 0; j < tk; j++) sum += s[j] = Math.exp(s[j]! - max);
        for (let j = 0; j < tk; j++) {
          const wj = s[j]! / sum;
          w[row + j] = wj;
          for (let d = 0; d < dv; d++) out[o + d]! += wj * vAt(j, d);
        }
      }
    }
  return { out, w };
}

/** A float64 MHA backend (every capability) with one injectable numeric bug, independent of core's reference. */
export function numericBuggyBackend(bug: NumericBug): MhaBackend {
  return float64Backend(`buggy-numeric-${bug}`, (p) => attention(bug, p));
}
