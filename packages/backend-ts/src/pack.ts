import { TILE } from './micro-kernel.js';

/** A float32 or float64 dense array: the sources the packers accept. */
export type Numbers = Float32Array | Float64Array;

/** `n` rounded up to a multiple of {@link TILE}. */
export function roundUpToTile(n: number): number {
  return Math.ceil(n / TILE) * TILE;
}

/**
 * Packs `rows x cols` of a row-major matrix (row `i` at `src[srcOff + i*srcStride ...]`) into row
 * panels for the A side of the micro-kernel: `dst[(p*cols + k)*8 + r] = factor * M[p*8 + r, k]`, with
 * zero rows past `rows`. `dst` needs `roundUpToTile(rows) * cols` elements.
 *
 * The same layout is the column-panel form of `M^T`, which is how keys enter `q k^T` without a transpose.
 */
export function packRowPanels(src: Numbers, srcOff: number, srcStride: number, rows: number, cols: number, dst: Float64Array, factor = 1): void {
  const panels = Math.ceil(rows / TILE);
  for (let p = 0; p < panels; p++) {
    const base = p * cols * TILE;
    for (let r = 0; r < TILE; r++) {
      const i = p * TILE + r;
      if (i < rows) {
        const s = srcOff + i * srcStride;
        for (let k = 0; k < cols; k++) dst[base + k * TILE + r] = factor * src[s + k]!;
      } else {
        for (let k = 0; k < cols; k++) dst[base + k * TILE + r] = 0;
      }
    }
  }
}

/**
 * Packs `rows x cols` of a row-major matrix into column panels for the B side of the micro-kernel:
 * `dst[dstOff + (p*rows + k)*8 + c] = M[k, p*8 + c]`, zero columns past `cols`. Row `k` of the source
 * starts at `src[srcOff + k*srcStride]`. `dst` needs `roundUpToTile(cols) * rows` elements from `dstOff`.
 */
export function packColumnPanels(src: Numbers, srcOff: number, srcStride: number, rows: number, cols: number, dst: Float64Array, dstOff = 0): void {
  const panels = Math.ceil(cols / TILE);
  for (let p = 0; p < panels; p++) {
    const c0 = p * TILE;
    const width = Math.min(TILE, cols - c0);
    const base = dstOff + p * rows * TILE;
    for (let k = 0; k < rows; k++) {
      const s = srcOff + k * srcStride + c0;
      const d = base + k * TILE;
      let c = 0;
      for (; c < width; c++) dst[d + c] = src[s + c]!;
      for (; c < TILE; c++) dst[d + c] = 0;
    }
  }
}
