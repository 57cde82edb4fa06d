/**
 * The one arithmetic hot spot of this backend: an 8 x 8 register-blocked multiply-accumulate.
 *
 * Every product in the backend (the fused q|k|v projection, scores, weights x V, the output
 * projection) is phrased as "8 rows of A times 8 columns of B over a shared length", with both
 * operands pre-packed into Float64Array panels so the inner loop reads two contiguous streams:
 *
 * - `a[aOff + k*8 + r]` is row `r` of the A block at step `k` (a *row panel*),
 * - `b[bOff + k*8 + c]` is column `c` of the B block at step `k` (a *column panel*).
 *
 * Why this shape: JavaScript has no SIMD, and every typed-array read pays an index computation and a
 * bounds check, which costs more than the multiply-add it feeds. Holding the 64 partial sums in local
 * variables (doubles) lets each loaded value feed 8 multiply-adds, so loads are 16 per 64 products.
 * 8 x 8 measured fastest on x64 V8 (Node 20): 6 x 8 was ~2% and 4 x 8 ~8% slower, 12 x 8 and 8 x 12
 * slower still, as was unrolling the k loop. The accumulators that do not fit in registers are
 * spilled to the stack, which is still cheaper than extra checked loads. (V8 in Node 20 also
 * computes all 64 products of a step before the additions and spills them; a false dependency to
 * make it interleave them was 25% slower.) Float64 panels avoid a float32-to-float64 conversion per
 * load (float32 panels were ~10% slower), and double accumulation is more accurate than float32.
 */

/** Rows and columns of the register tile; panels are packed in groups of this many. */
export const TILE = 8;

/**
 * `out[outOff + r*8 + c] = sum_{k < kLen} a[aOff + k*8 + r] * b[bOff + k*8 + c]` for `r, c < 8`.
 *
 * Both panels must hold `kLen * 8` readable values from their offsets. Callers pad panels with zeros
 * past the logical edge and ignore the padded rows/columns of `out`. The 64 outputs are overwritten,
 * never accumulated into.
 */
export function microKernel8x8(a: Float64Array, aOff: number, b: Float64Array, bOff: number, kLen: number, out: Float64Array, outOff: number): void {
  let p = aOff;
  let q = bOff;
  // The body is written out in full on purpose: 64 named accumulators are what keeps the sums out of
  // memory; a loop over an accumulator array would turn every multiply-add into a load and a store.
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  let c40 = 0, c41 = 0, c42 = 0, c43 = 0, c44 = 0, c45 = 0, c46 = 0, c47 = 0;
  let c50 = 0, c51 = 0, c52 = 0, c53 = 0, c54 = 0, c55 = 0, c56 = 0, c57 = 0;
  let c60 = 0, c61 = 0, c62 = 0, c63 = 0, c64 = 0, c65 = 0, c66 = 0, c67 = 0;
  let c70 = 0, c71 = 0, c72 = 0, c73 = 0, c74 = 0, c75 = 0, c76 = 0, c77 = 0;
  for (let k = 0; k < kLen; k++, p += 8, q += 8) {
    const a0 = a[p]!, a1 = a[p + 1]!, a2 = a[p + 2]!, a3 = a[p + 3]!, a4 = a[p + 4]!, a5 = a[p + 5]!, a6 = a[p + 6]!, a7 = a[p + 7]!;
    let w = 0;
    w = b[q]!;
    c00 += a0 * w; c10 += a1 * w; c20 += a2 * w; c30 += a3 * w; c40 += a4 * w; c50 += a5 * w; c60 += a6 * w; c70 += a7 * w;
    w = b[q + 1]!;
    c01 += a0 * w; c11 += a1 * w; c21 += a2 * w; c31 += a3 * w; c41 += a4 * w; c51 += a5 * w; c61 += a6 * w; c71 += a7 * w;
    w = b[q + 2]!;
    c02 += a0 * w; c12 += a1 * w; c22 += a2 * w; c32 += a3 * w; c42 += a4 * w; c52 += a5 * w; c62 += a6 * w; c72 += a7 * w;
    w = b[q + 3]!;
    c03 += a0 * w; c13 += a1 * w; c23 += a2 * w; c33 += a3 * w; c43 += a4 * w; c53 += a5 * w; c63 += a6 * w; c73 += a7 * w;
    w = b[q + 4]!;
    c04 += a0 * w; c14 += a1 * w; c24 += a2 * w; c34 += a3 * w; c44 += a4 * w; c54 += a5 * w; c64 += a6 * w; c74 += a7 * w;
    w = b[q + 5]!;
    c05 += a0 * w; c15 += a1 * w; c25 += a2 * w; c35 += a3 * w; c45 += a4 * w; c55 += a5 * w; c65 += a6 * w; c75 += a7 * w;
    w = b[q + 6]!;
    c06 += a0 * w; c16 += a1 * w; c26 += a2 * w; c36 += a3 * w; c46 += a4 * w; c56 += a5 * w; c66 += a6 * w; c76 += a7 * w;
    w = b[q + 7]!;
    c07 += a0 * w; c17 += a1 * w; c27 += a2 * w; c37 += a3 * w; c47 += a4 * w; c57 += a5 * w; c67 += a6 * w; c77 += a7 * w;
  }
  out[outOff] = c00; out[outOff + 1] = c01; out[outOff + 2] = c02; out[outOff + 3] = c03; out[outOff + 4] = c04; out[outOff + 5] = c05; out[outOff + 6] = c06; out[outOff + 7] = c07;
  out[outOff + 8] = c10; out[outOff + 9] = c11; out[outOff + 10] = c12; out[outOff + 11] = c13; out[outOff + 12] = c14; out[outOff + 13] = c15; out[outOff + 14] = c16; out[outOff + 15] = c17;
  out[outOff + 16] = c20; out[outOff + 17] = c21; out[outOff + 18] = c22; out[outOff + 19] = c23; out[outOff + 20] = c24; out[outOff + 21] = c25; out[outOff + 22] = c26; out[outOff + 23] = c27;
  out[outOff + 24] = c30; out[outOff + 25] = c31; out[outOff + 26] = c32; out[outOff + 27] = c33; out[outOff + 28] = c34; out[outOff + 29] = c35; out[outOff + 30] = c36; out[outOff + 31] = c37;
  out[outOff + 32] = c40; out[outOff + 33] = c41; out[outOff + 34] = c42; out[outOff + 35] = c43; out[outOff + 36] = c44; out[outOff + 37] = c45; out[outOff + 38] = c46; out[outOff + 39] = c47;
  out[outOff + 40] = c50; out[outOff + 41] = c51; out[outOff + 42] = c52; out[outOff + 43] = c53; out[outOff + 44] = c54; out[outOff + 45] = c55; out[outOff + 46] = c56; out[outOff + 47] = c57;
  out[outOff + 48] = c60; out[outOff + 49] = c61; out[outOff + 50] = c62; out[outOff + 51] = c63; out[outOff + 52] = c64; out[outOff + 53] = c65; out[outOff + 54] = c66; out[outOff + 55] = c67;
  out[outOff + 56] = c70; out[outOff + 57] = c71; out[outOff + 58] = c72; out[outOff + 59] = c73; out[outOff + 60] = c74; out[outOff + 61] = c75; out[outOff + 62] = c76; out[outOff + 63] = c77;
}
