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
