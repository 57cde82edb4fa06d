// Attention for a few query rows per head (a decode step: one new token over a long cache), with no
// packing. Per query row: each score is an f32x4 dot product of the query row with a key row read in
// place (any row stride, e.g. a module cache's storage), then the two-pass kernel's row softmax
// (scale, soft-cap, mask, overflow and empty-row rules), then the context is the weighted sum of the
// value rows read in place. Packing K^T and V for the 4x8 micro-kernel costs as much as this whole
// computation for one row, and the micro-kernel would compute 3 of its 4 rows for nothing.
import { madd, hsum } from './simd';
import { MASK_NONE, roundUp } from './attention-common';
import { softmaxRow } from './attention-tiled-f32x4';

/**
 * Query rows per head up to which `attention` takes {@link attentionSmall}. The GEMM kernels pack K^T and
 * V once per KV head and reuse them for every query row, so they win once several rows share the panels.
 * Measured on the core op (12 heads, Tk 1,024, d 64, CPU time with core's checks and copies): 1 / 4 / 6
 * rows 3.4 / 3.9 / 4.2 ms here, 7 / 8 rows 4.8 / 4.7 ms on the GEMM kernels; the crossover lies higher
 * (about 10 rows by extrapolation), 6 is the ts backend's bound.
 */
export const SMALL_QUERY_ROWS: i32 = 6;

/** Bytes of work memory {@link attentionSmall} needs: one row of scores, padded to whole vectors. */
export function smallScratchBytes(tk: i32): i32 {
  return roundUp(tk, 4) * 4;
}

/**
 * `attention` (assembly/attention.ts) for any number of query rows, without packing; the weights (when
 * `weights` is not 0) are the exact softmax rows, as in the two-pass kernel.
 */
export function attentionSmall(
  batch: i32, qHeads: i32, kvHeads: i32, tq: i32, tk: i32, dk: i32, dv: i32,
  q: usize, qBatch: i32, qHead: i32, qRow: i32,
  k: usize, kBatch: i32, kHead: i32, kRow: i32,
  v: usize, vBatch: i32, vHead: i32, vRow: i32,
  out: usize, oBatch: i32, oHead: i32, oRow: i32,
  scale: f32, causal: i32, softcap: f32,
  maskKind: i32, mask: usize, ms0: i32, ms1: i32, ms2: i32, ms3: i32,
  weights: usize, wBatch: i32, wHead: i32, work: usize,
): void {
  const group = qHeads / kvHeads;
  const s = work;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < qHeads; h++) {
      const kvh = h / group;
      const kBase = k + (<usize>b * kBatch + <usize>kvh * kHead) * 4;
      const vBase = v + (<usize>b * vBatch + <usize>kvh * vHead) * 4;
      const qBase = q + (<usize>b * qBatch + <usize>h * qHead) * 4;
      const oBase = out + (<usize>b * oBatch + <usize>h * oHead) * 4;
      for (let i = 0; i < tq; i++) {
        const visible = causal ? min(tk, i + 1) : tk;
        dotRows(qBase + <usize>i * <usize>qRow * 4, dk, kBase, <usize>kRow * 4, visible, s);
        const maskRow: usize = maskKind == MASK_NONE ? 0 : <usize>b * ms0 + <usize>h * ms1 + <usize>i * ms2;
        softmaxRow(s, visible, visible, scale, softcap, maskKind, mask, maskRow, ms3);
        if (weights != 0) {
          const wRow = weights + (<usize>b * wBatch + <usize>h * wHead + <usize>i * <usize>tk) * 4;
          memory.copy(wRow, s, <usize>visible * 4);
          if (visible < tk) memory.fill(wRow + <usize>visible * 4, 0, <usize>(tk - visible) * 4);
        }
        weightedRows(s, visible, vBase, <usize>vRow * 4, dv, oBase + <usize>i * <usize>oRow * 4);
      }
    }
  }
}

/**
 * `s[j] = x . m[j]` over `len` floats for `j < rows`, row `j` at `m + j * stride` (bytes). Four rows at a
 * time, so each vector of `x` feeds four multiply-adds into four independent sums.
 */
@inline
function dotRows(x: usize, len: i32, m: usize, stride: usize, rows: i32, s: usize): void {
  const full = <usize>(len & ~3) * 4;
  const end = <usize>len * 4;
  let j = 0;
  for (; j + 4 <= rows; j += 4) {
    const r0 = m + <usize>j * stride;
    const r1 = r0 + stride;
    const r2 = r1 + stride;
    const r3 = r2 + stride;
    let a0 = f32x4.splat(0);
    let a1 = a0, a2 = a0, a3 = a0;
    for (let c: usize = 0; c < full; c += 16) {
      const xv = v128.load(x + c);
      a0 = madd(xv, v128.load(r0 + c), a0);
      a1 = madd(xv, v128.load(r1 + c), a1);
      a2 = madd(xv, v128.load(r2 + c), a2);
      a3 = madd(xv, v128.load(r3 + c), a3);
    }
    let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (let c = full; c < end; c += 4) {
      const xs = load<f32>(x + c);
      s0 += xs * load<f32>(r0 + c);
      s1 += xs * load<f32>(r1 + c);
      s2 += xs * load<f32>(r2 + c);
      s3 += xs * load<f32>(r3 + c);
    }
    const at = s + <usize>j * 4;
    store<f32>(at, s0);
    store<f32>(at, s1, 4);
    store<f32>(at, s2, 8);
    store<f32>(at, s3, 12);
  }
  for (; j < rows; j++) {
    const r = m + <usize>j * stride;
    let a = f32x4.splat(0);
    for (let c: usize = 0; c < full; c += 16) a = madd(v128.load(x + c), v128.load(r + c), a);
    let sum = hsum(a);
    for (let c = full; c < end; c += 4) sum += load<f32>(x + c) * load<f32>(r + c);
    store<f32>(s + <usize>j * 4, sum);
  }
}

/**
 * `o[c] = sum_j w[j] * m[j][c]` for `c < cols`, summed over `j < rows` in order; row `j` at
 * `m + j * stride` (bytes). 32 columns at a time in eight vector sums, then 4, then one.
 */
@inline
function weightedRows(w: usize, rows: i32, m: usize, stride: usize, cols: i32, o: usize): void {
  let c0 = 0;
  for (; c0 + 32 <= cols; c0 += 32) {
    let a0 = f32x4.splat(0);
    let a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    let r = m + <usize>c0 * 4;
    for (let j = 0; j < rows; j++) {
      const x = v128.load32_splat(w + <usize>j * 4);
      a0 = madd(x, v128.load(r), a0);
      a1 = madd(x, v128.load(r, 16), a1);
      a2 = madd(x, v128.load(r, 32), a2);
      a3 = madd(x, v128.load(r, 48), a3);
      a4 = madd(x, v128.load(r, 64), a4);
      a5 = madd(x, v128.load(r, 80), a5);
      a6 = madd(x, v128.load(r, 96), a6);
      a7 = madd(x, v128.load(r, 112), a7);
      r += stride;
    }
    const at = o + <usize>c0 * 4;
    v128.store(at, a0);
    v128.store(at, a1, 16);
    v128.store(at, a2, 32);
    v128.store(at, a3, 48);
    v128.store(at, a4, 64);
    v128.store(at, a5, 80);
    v128.store(at, a6, 96);
    v128.store(at, a7, 112);
  }
  for (; c0 + 4 <= cols; c0 += 4) {
    let a = f32x4.splat(0);
    let r = m + <usize>c0 * 4;
    for (let j = 0; j < rows; j++) {
      a = madd(v128.load32_splat(w + <usize>j * 4), v128.load(r), a);
      r += stride;
    }
    v128.store(o + <usize>c0 * 4, a);
  }
  for (; c0 < cols; c0++) {
    let sum: f32 = 0;
    let r = m + <usize>c0 * 4;
    for (let j = 0; j < rows; j++) {
      sum += load<f32>(w + <usize>j * 4) * load<f32>(r);
      r += stride;
    }
    store<f32>(o + <usize>c0 * 4, sum);
  }
}
