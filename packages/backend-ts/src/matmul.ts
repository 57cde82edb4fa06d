import { microKernel8x8, TILE } from './micro-kernel.js';
import { packColumnPanels, roundUpToTile, type Numbers } from './pack.js';

/** A weight matrix `[inDim, outDim]` packed once into column panels (see {@link packColumnPanels}). */
export interface PackedWeights {
  readonly data: Float64Array;
  readonly inDim: number;
  readonly outDim: number;
}

/** Allocates a zeroed float64 array; the threaded mode passes one backed by shared memory. */
export type Float64Allocator = (length: number) => Float64Array;

/** Plain, unshared float64 memory. */
export const allocateFloat64: Float64Allocator = (length) => new Float64Array(length);

/**
 * Packs the column-wise concatenation `[m_0 | m_1 | ...]` of row-major `[inDim, outDim_i]` matrices.
 * Fusing `wq | wk | wv` this way lets one product produce q, k and v, reading each input row once.
 */
export function packWeights(inDim: number, blocks: readonly { readonly data: Float32Array; readonly outDim: number }[], allocate: Float64Allocator = allocateFloat64): PackedWeights {
  const outDim = blocks.reduce((n, b) => n + b.outDim, 0);
  let src: Float32Array;
  if (blocks.length === 1) {
    src = blocks[0]!.data;
  } else {
    src = new Float32Array(inDim * outDim);
    let col = 0;
    for (const b of blocks) {
      for (let k = 0; k < inDim; k++) src.set(b.data.subarray(k * b.outDim, (k + 1) * b.outDim), k * outDim + col);
      col += b.outDim;
    }
  }
  const data = allocate(roundUpToTile(outDim) * inDim);
  packColumnPanels(src, 0, outDim, inDim, outDim, data);
  return { data, inDim, outDim };
}

/**
 * `out[i*outStride + n] = sum_k A[i, k] * W[k, n] + bias[n]` for `i < rows`, `n < w.outDim`: the
 * projection GEMM. `a` holds A as row panels ({@link packRowPanels} with `cols = w.inDim`); `tile` is
 * a 64-element scratch. Work goes one 8 x 8 output tile at a time; a row panel of A (8 x inDim doubles,
 * 48 KB at inDim = 768) stays in L1 while the weight panels stream past it.
 */
export function matmulPacked(a: Float64Array, rows: number, w: PackedWeights, bias: Float64Array | undefined, out: Numbers, outStride: number, tile: Float64Array): void {
  const { inDim: K, outDim: N, data: b } = w;
  const rowPanels = Math.ceil(rows / TILE);
  const colPanels = Math.ceil(N / TILE);
  for (let p = 0; p < rowPanels; p++) {
    const aOff = p * K * TILE;
    const rEnd = Math.min(TILE, rows - p * TILE);
    if (rEnd <= FEW_ROWS) {
      // A nearly empty panel (one token of a decode step): the 8 x 8 kernel would spend 8 multiply-adds per
      // useful one on zero rows, so multiply its rows one at a time.
      for (let r = 0; r < rEnd; r++) {
        const o = (p * TILE + r) * outStride;
        for (let q = 0; q < colPanels; q++) {
          rowTimesPanel(a, aOff + r, b, q * K * TILE, K, tile);
          const c0 = q * TILE;
          const cEnd = Math.min(TILE, N - c0);
          if (bias) for (let c = 0; c < cEnd; c++) out[o + c0 + c] = tile[c]! + bias[c0 + c]!;
          else for (let c = 0; c < cEnd; c++) out[o + c0 + c] = tile[c]!;
        }
      }
      continue;
    }
    for (let q = 0; q < colPanels; q++) {
      microKernel8x8(a, aOff, b, q * K * TILE, K, tile, 0);
      const c0 = q * TILE;
      const cEnd = Math.min(TILE, N - c0);
      for (let r = 0; r < rEnd; r++) {
        const o = (p * TILE + r) * outStride + c0;
        const t = r * TILE;
        if (bias) for (let c = 0; c < cEnd; c++) out[o + c] = tile[t + c]! + bias[c0 + c]!;
        else for (let c = 0; c < cEnd; c++) out[o + c] = tile[t + c]!;
      }
    }
  }
}

/**
 * Rows of a row panel up to which {@link matmulPacked} multiplies row by row ({@link rowTimesPanel})
 * instead of running the 8 x 8 kernel over the zero-padded panel (measured: see the changeset).
 */
export const FEW_ROWS = 3;

/**
 * `out[c] = sum_{k < kLen} a[aOff + k*8] * b[bOff + k*8 + c]` for `c < 8`: one row of a row panel times
 * one column panel. The same products summed in the same order as {@link microKernel8x8}'s row, so the
 * same result bits.
 */
function rowTimesPanel(a: Float64Array, aOff: number, b: Float64Array, bOff: number, kLen: number, out: Float64Array): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  for (let k = 0, p = aOff, q = bOff; k < kLen; k++, p += 8, q += 8) {
    const x = a[p]!;
    s0 += x * b[q]!;
    s1 += x * b[q + 1]!;
    s2 += x * b[q + 2]!;
    s3 += x * b[q + 3]!;
    s4 += x * b[q + 4]!;
    s5 += x * b[q + 5]!;
    s6 += x * b[q + 6]!;
    s7 += x * b[q + 7]!;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
  out[4] = s4;
  out[5] = s5;
  out[6] = s6;
  out[7] = s7;
}
