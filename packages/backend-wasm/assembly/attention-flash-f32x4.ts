// Fused attention with online softmax (flash-attention style), the path when no weights are requested.
// Per (batch, query head), MR query rows at a time, the keys are swept in blocks of BLOCK_KV:
//   S = q_tile @ K_blk^T (scaled) -> softcap -> mask / causal -> running max m and sum l per row ->
//   acc = e^(m_old - m_new) * acc + e^(S - m_new) @ V_blk,   and at the end out = acc / l.
// Nothing grows with Tq * Tk or even with Tk per query tile: besides K^T and V packed once per KV head
// (O(Tk * d)), a tile holds MR x BLOCK_KV scores and MR x dv accumulators. Under causal masking the
// blocks (and, in the diagonal block, the key panels) past a tile's last row are never computed.
import { gemm4x8, gemm4x8Rescale, MR, NR, packB, packBTransposed } from './gemm-4x8-f32x4';
import { exp4, hmax, hsum } from './simd';
import { MASK_ADDITIVE, MASK_BOOL, MASK_NONE, roundUp } from './attention-common';

/**
 * Keys per block. Its 4 x 64 scores (1 KiB) and a block of packed K^T and V (64 x d floats each, 16 KiB
 * each at d = 64) stay in L1 while the block's two products run.
 */
export const BLOCK_KV: i32 = 64;

/** Bytes of work memory {@link attentionFlash} needs: packed K^T and V, one tile's scores, accumulators and row state. */
export function flashScratchBytes(tk: i32, dk: i32, dv: i32): i32 {
  return (roundUp(tk, NR) * dk + roundUp(dv, NR) * tk + MR * BLOCK_KV + MR * roundUp(dv, NR) + 4 * MR) * 4;
}

/**
 * `out = softmax(scale * q k^T [softcap] [+ mask] [causal]) @ v` for every (batch, query head), without
 * the weights. Arguments as `attention` (assembly/attention.ts). Float32 throughout; the result matches
 * the two-pass softmax up to rounding: the same transformed scores, `e^(s - m)` against the final row
 * max `m` once every rescale is applied. A row whose keys are all masked gives zeros; a row with a score
 * that overflowed float32 (or a NaN) gives NaN, which core reports as MHA_OVERFLOW.
 */
export function attentionFlash(
  batch: i32, qHeads: i32, kvHeads: i32, tq: i32, tk: i32, dk: i32, dv: i32,
  q: usize, qBatch: i32, qHead: i32, qRow: i32,
  k: usize, kBatch: i32, kHead: i32, kRow: i32,
  v: usize, vBatch: i32, vHead: i32, vRow: i32,
  out: usize, oBatch: i32, oHead: i32, oRow: i32,
  scale: f32, causal: i32, softcap: f32,
  maskKind: i32, mask: usize, ms0: i32, ms1: i32, ms2: i32, ms3: i32,
  work: usize,
): void {
  const group = qHeads / kvHeads;
  const dvPad = roundUp(dv, NR);
  const kPacked = work;
  const vPacked = kPacked + <usize>(roundUp(tk, NR) * dk) * 4;
  const scores = vPacked + <usize>(dvPad * tk) * 4;
  const acc = scores + <usize>(MR * BLOCK_KV) * 4;
  // Per row of the tile: running max, running sum, this block's rescale factor, overflow flag (0 / 1).
  const rowMax = acc + <usize>(MR * dvPad) * 4;
  const rowSum = rowMax + MR * 4;
  const rowAlpha = rowSum + MR * 4;
  const rowBad = rowAlpha + MR * 4;
  const sStride = <usize>BLOCK_KV * 4;
  const accStride = <usize>dvPad * 4;
  const vPanels = dvPad / NR;
  for (let b = 0; b < batch; b++) {
    for (let kvh = 0; kvh < kvHeads; kvh++) {
      packBTransposed(dk, tk, k + (<usize>b * kBatch + <usize>kvh * kHead) * 4, kRow, kPacked);
      packB(tk, dv, v + (<usize>b * vBatch + <usize>kvh * vHead) * 4, vRow, vPacked);
      for (let h = kvh * group; h < (kvh + 1) * group; h++) {
        const qBase = q + (<usize>b * qBatch + <usize>h * qHead) * 4;
        const oBase = out + (<usize>b * oBatch + <usize>h * oHead) * 4;
        for (let i0 = 0; i0 < tq; i0 += MR) {
          const rows = min(MR, tq - i0);
          const kvEnd = causal ? min(tk, i0 + rows) : tk;
          const qTile = qBase + <usize>i0 * <usize>qRow * 4;
          v128.store(rowMax, f32x4.splat(-Infinity));
          v128.store(rowSum, f32x4.splat(0));
          v128.store(rowBad, i32x4.splat(0));
          memory.fill(acc, 0, <usize>(MR * dvPad) * 4);
          for (let j0 = 0; j0 < kvEnd; j0 += BLOCK_KV) {
            const kb = min(BLOCK_KV, kvEnd - j0);
            const kPanels = (kb + NR - 1) / NR;
            for (let p = 0; p < kPanels; p++) {
              gemm4x8(dk, qTile, <usize>qRow * 4, kPacked + <usize>((j0 / NR + p) * dk * NR) * 4, 0, scores + <usize>(p * NR) * 4, sStride, rows, NR);
            }
            for (let r = 0; r < rows; r++) {
              const i = i0 + r;
              // Keys of this block row i sees: causal (top-left aligned) hides keys past i.
              const seen = max(0, min(kb, (causal ? min(tk, i + 1) : tk) - j0));
              const maskRow: usize = maskKind == MASK_NONE ? 0 : <usize>b * ms0 + <usize>h * ms1 + <usize>i * ms2 + <usize>j0 * ms3;
              const at = <usize>r * 4;
              const bad = blockScores(scores + <usize>r * sStride, seen, scale, softcap, maskKind, mask, maskRow, ms3);
              if (bad) store<i32>(rowBad + at, 1);
              const m = blockUpdate(scores + <usize>r * sStride, seen, kb, load<f32>(rowMax + at), rowSum + at, rowAlpha + at);
              store<f32>(rowMax + at, m);
            }
            const alpha = v128.load(rowAlpha);
            const vBlock = vPacked + <usize>(j0 * NR) * 4;
            for (let p = 0; p < vPanels; p++) {
              gemm4x8Rescale(kb, scores, sStride, vBlock + <usize>(p * tk * NR) * 4, acc + <usize>(p * NR) * 4, accStride, rows, alpha);
            }
          }
          for (let r = 0; r < rows; r++) {
            const at = <usize>r * 4;
            finishRow(oBase + <usize>(i0 + r) * <usize>oRow * 4, acc + <usize>r * accStride, dv, load<f32>(rowMax + at), load<f32>(rowSum + at), load<i32>(rowBad + at) != 0);
          }
        }
      }
    }
  }
}

/**
 * Turns the raw dot products `s[0..seen)` of one row's block into transformed scores in place: scale,
 * soft-cap, mask (masked keys -Infinity; the additive mask add rounded in float32 as SPEC.md prescribes).
 * Returns true when a score the mask keeps is not finite before the mask add (float32 overflow of q.k or
 * of the scaling, or a NaN), exactly as the two-pass kernel decides it. `maskRow` points at the block's
 * first key (elements); `maskStep` is the key stride of the mask.
 */
@inline
function blockScores(s: usize, seen: i32, scale: f32, softcap: f32, maskKind: i32, mask: usize, maskRow: usize, maskStep: i32): bool {
  if (softcap <= 0 && maskKind == MASK_NONE) {
    const vScale = f32x4.splat(scale);
    const vInf = f32x4.splat(Infinity);
    const full = seen & ~3;
    let finite = i32x4.splat(-1);
    for (let j = 0; j < full; j += 4) {
      const at = s + <usize>j * 4;
      const x = f32x4.mul(v128.load(at), vScale);
      v128.store(at, x);
      finite = v128.and(finite, f32x4.lt(f32x4.abs(x), vInf));
    }
    let overflow = !v128.all_true<i32>(finite);
    for (let j = full; j < seen; j++) {
      const at = s + <usize>j * 4;
      const x = load<f32>(at) * scale;
      store<f32>(at, x);
      if (!(abs(x) < Infinity)) overflow = true;
    }
    return overflow;
  }
  // Soft-capping bounds an overflowed score exactly as it bounds the float64 one (tanh(inf) = 1), so
  // only a NaN stays an overflow; a key the mask removes cannot overflow the row either.
  let overflow = false;
  for (let j = 0; j < seen; j++) {
    const at = s + <usize>j * 4;
    let x = load<f32>(at) * scale;
    if (softcap > 0) x = <f32>(<f64>softcap * Math.tanh(<f64>x / <f64>softcap));
    let masked = false;
    let add: f32 = 0;
    if (maskKind == MASK_BOOL) {
      masked = load<u8>(mask + maskRow + <usize>j * maskStep) == 0;
    } else if (maskKind == MASK_ADDITIVE) {
      add = load<f32>(mask + (maskRow + <usize>j * maskStep) * 4);
      masked = add == -Infinity;
    }
    if (masked) {
      x = -Infinity;
    } else {
      if (!(abs(x) < Infinity)) overflow = true;
      // A finite mask value can still push the float32 sum to -Infinity: like the reference, that key
      // then weighs 0, and a row of such keys is empty.
      x = x + add;
    }
    store<f32>(at, x);
  }
  return overflow;
}

/**
 * One row's online-softmax step over a block of transformed scores `s[0..seen)` (`s[seen..kb)` are keys
 * the row does not see): with `mOld` the running max, stores `p = e^(s - mNew)` into `s[0..kb)` (0 past
 * `seen`), updates the running sum at `sum` to `sum * alpha + sum(p)` and writes `alpha = e^(mOld - mNew)`,
 * the factor the row's accumulator must be rescaled by. Returns `mNew`. While no key of the row is live
 * (every score so far -Infinity) `p` is 0 and `alpha` 1, never `e^(-inf - -inf)`.
 */
@inline
function blockUpdate(s: usize, seen: i32, kb: i32, mOld: f32, sum: usize, alphaAt: usize): f32 {
  const vEnd = seen > 0 ? (seen + 3) & ~3 : 0;
  // Keys past `seen` up to the next vector boundary become -Infinity, i.e. weight 0 after exp.
  for (let j = seen; j < vEnd; j++) store<f32>(s + <usize>j * 4, -Infinity);
  let vmax = f32x4.splat(-Infinity);
  for (let j = 0; j < vEnd; j += 4) vmax = f32x4.max(vmax, v128.load(s + <usize>j * 4));
  const mNew = max(mOld, hmax(vmax));
  if (mNew == -Infinity) {
    memory.fill(s, 0, <usize>kb * 4);
    store<f32>(alphaAt, 1);
    return mNew;
  }
  const vm = f32x4.splat(mNew);
  let vsum = f32x4.splat(0);
  for (let j = 0; j < vEnd; j += 4) {
    const at = s + <usize>j * 4;
    const e = exp4(f32x4.sub(v128.load(at), vm));
    v128.store(at, e);
    vsum = f32x4.add(vsum, e);
  }
  if (vEnd < kb) memory.fill(s + <usize>vEnd * 4, 0, <usize>(kb - vEnd) * 4);
  // e^(-inf) = 0 on the row's first live block; exactly 1 while the max holds.
  const alpha = mOld == mNew ? <f32>1 : f32x4.extract_lane(exp4(f32x4.splat(mOld - mNew)), 0);
  store<f32>(alphaAt, alpha);
  store<f32>(sum, load<f32>(sum) * alpha + hsum(vsum));
  return mNew;
}

/**
 * Writes one output row: `acc / l`; zeros when no key was live (the spec's answer for a fully masked
 * row); NaN when a score overflowed (core turns it into MHA_OVERFLOW). The live row's largest score
 * contributed e^0 = 1, so `l >= 1`.
 */
@inline
function finishRow(o: usize, acc: usize, dv: i32, m: f32, l: f32, bad: bool): void {
  if (bad || m == -Infinity) {
    const fill: f32 = bad ? NaN : 0;
    for (let c = 0; c < dv; c++) store<f32>(o + <usize>c * 4, fill);
    return;
  }
  const inv: f32 = <f32>1.0 / l;
  const vInv = f32x4.splat(inv);
  const full = dv & ~3;
  for (let c = 0; c < full; c += 4) v128.store(o + <usize>c * 4, f32x4.mul(v128.load(acc + <usize>c * 4), vInv));
  for (let c = full; c < dv; c++) store<f32>(o + <usize>c * 4, load<f32>(acc + <usize>c * 4) * inv);
}
