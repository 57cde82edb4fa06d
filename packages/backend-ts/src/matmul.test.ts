import { randomTensor, seededRandom } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { FEW_ROWS, matmulPacked, packWeights } from './matmul.js';
import { microKernel8x8, TILE } from './micro-kernel.js';
import { packColumnPanels, packRowPanels, roundUpToTile } from './pack.js';

/** The obvious triple loop in float64: the oracle. Also returns sum |a_ik w_kn| per output for the bound. */
function naive(a: Float32Array, rows: number, k: number, w: Float32Array, n: number, bias?: Float32Array) {
  const y = new Float64Array(rows * n);
  const mag = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      let m = Math.abs(s);
      for (let t = 0; t < k; t++) {
        s += a[i * k + t]! * w[t * n + j]!;
        m += Math.abs(a[i * k + t]! * w[t * n + j]!);
      }
      y[i * n + j] = s;
      mag[i * n + j] = m;
    }
  return { y, mag };
}

/**
 * Both sides sum the same float64 products in a different order: the difference is bounded by
 * k * 2^-53 * sum|terms| (here <= 1e-13 * sum|terms|). A float32 output adds its own rounding, 2^-24 |e|.
 */
function expectMatches(got: ArrayLike<number>, want: Float64Array, mag: Float64Array, float32Out: boolean, label: string) {
  for (let i = 0; i < want.length; i++) {
    const bound = 1e-13 * mag[i]! + (float32Out ? 2 ** -24 * Math.abs(want[i]!) : 0);
    if (!(Math.abs(got[i]! - want[i]!) <= bound)) expect.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (bound ${bound})`);
  }
}

function gemm(a: Float32Array, rows: number, k: number, w: Float32Array, n: number, bias: Float32Array | undefined, out: Float32Array | Float64Array, outStride: number) {
  const panels = new Float64Array(roundUpToTile(rows) * k);
  packRowPanels(a, 0, k, rows, k, panels);
  matmulPacked(panels, rows, packWeights(k, [{ data: w, outDim: n }]), bias ? Float64Array.from(bias) : undefined, out, outStride, new Float64Array(64));
}

describe('micro-kernel', () => {
  it('computes an 8x8 block of panel products at an output offset, overwriting (not accumulating)', () => {
    const kLen = 5;
    const a = randomTensor([3 + kLen * TILE], 1).data;
    const b = randomTensor([2 + kLen * TILE], 2).data;
    const out = new Float64Array(70).fill(123);
    microKernel8x8(Float64Array.from(a), 3, Float64Array.from(b), 2, kLen, out, 4);
    for (let r = 0; r < TILE; r++)
      for (let c = 0; c < TILE; c++) {
        let s = 0;
        for (let k = 0; k < kLen; k++) s += a[3 + k * TILE + r]! * b[2 + k * TILE + c]!;
        expect(Math.abs(out[4 + r * TILE + c]! - s)).toBeLessThanOrEqual(1e-15 * kLen);
      }
    expect(Array.from(out.subarray(0, 4))).toEqual([123, 123, 123, 123]);
    expect(Array.from(out.subarray(68))).toEqual([123, 123]);
  });

  it('with kLen = 0 writes zeros', () => {
    const out = new Float64Array(64).fill(7);
    microKernel8x8(new Float64Array(0), 0, new Float64Array(0), 0, 0, out, 0);
    expect(out.every((v) => v === 0)).toBe(true);
  });
});

describe('packing', () => {
  it('row panels: dst[(p*cols + k)*8 + r] = factor * M[p*8 + r, k], zero rows past the edge, stale data overwritten', () => {
    const rows = 11;
    const cols = 3;
    const m = randomTensor([rows, cols + 2], 3).data; // stride 5: only the first 3 columns are read
    const dst = new Float64Array(roundUpToTile(rows) * cols).fill(NaN);
    packRowPanels(m, 0, cols + 2, rows, cols, dst, 0.5);
    for (let p = 0; p < 2; p++)
      for (let k = 0; k < cols; k++)
        for (let r = 0; r < TILE; r++) {
          const i = p * TILE + r;
          expect(dst[(p * cols + k) * TILE + r]).toBe(i < rows ? 0.5 * m[i * (cols + 2) + k]! : 0);
        }
  });

  it('column panels: dst[off + (p*rows + k)*8 + c] = M[k, p*8 + c], zero columns past the edge', () => {
    const rows = 4;
    const cols = 10;
    const m = randomTensor([rows * cols], 4).data;
    const dst = new Float64Array(3 + roundUpToTile(cols) * rows).fill(NaN);
    packColumnPanels(m, 0, cols, rows, cols, dst, 3);
    for (let p = 0; p < 2; p++)
      for (let k = 0; k < rows; k++)
        for (let c = 0; c < TILE; c++) {
          const j = p * TILE + c;
          expect(dst[3 + (p * rows + k) * TILE + c]).toBe(j < cols ? m[k * cols + j]! : 0);
        }
  });
});

describe('projection GEMM vs a naive loop', () => {
  // Every edge of the 8 x 8 blocking: less than one tile, exactly one, one plus one, several plus a
  // remainder, on rows and columns; inner lengths from 1 up.
  const sizes = { rows: [1, 2, 3, 4, 7, 8, 9, 11, 17, 24], k: [1, 3, 8, 13], n: [1, 5, 8, 9, 16, 23] };
  let seed = 10;
  for (const rows of sizes.rows)
    for (const k of sizes.k)
      for (const n of sizes.n) {
        const s = seed++;
        it(`[${rows}x${k}] @ [${k}x${n}] (seed ${s})`, () => {
          const a = randomTensor([rows, k], s).data;
          const w = randomTensor([k, n], s + 1000).data;
          const bias = s % 2 === 0 ? randomTensor([n], s + 2000).data : undefined;
          const { y, mag } = naive(a, rows, k, w, n, bias);
          const out64 = new Float64Array(rows * n);
          gemm(a, rows, k, w, n, bias, out64, n);
          expectMatches(out64, y, mag, false, 'float64 out');
          const out32 = new Float32Array(rows * n);
          gemm(a, rows, k, w, n, bias, out32, n);
          expectMatches(out32, y, mag, true, 'float32 out');
        });
      }

  it('writes with an output stride and leaves the other columns alone', () => {
    const rows = 9;
    const k = 4;
    const n = 5;
    const a = randomTensor([rows, k], 1).data;
    const w = randomTensor([k, n], 2).data;
    const out = new Float64Array(rows * 12).fill(-7);
    gemm(a, rows, k, w, n, undefined, out, 12);
    const { y, mag } = naive(a, rows, k, w, n);
    for (let i = 0; i < rows; i++) {
      expectMatches(out.subarray(i * 12, i * 12 + n), y.subarray(i * n, (i + 1) * n), mag.subarray(i * n, (i + 1) * n), false, `row ${i}`);
      expect(Array.from(out.subarray(i * 12 + n, (i + 1) * 12))).toEqual(new Array(12 - n).fill(-7));
    }
  });

  it('packWeights fuses column blocks: [wq|wk|wv] gives the three separate products side by side', () => {
    const rows = 10;
    const k = 6;
    const n = 5; // not a multiple of 8: the fused panels straddle the block boundaries
    const a = randomTensor([rows, k], 5).data;
    const ws = [0, 1, 2].map((i) => randomTensor([k, n], 6 + i).data);
    const panels = new Float64Array(roundUpToTile(rows) * k);
    packRowPanels(a, 0, k, rows, k, panels);
    const fused = new Float64Array(rows * 3 * n);
    matmulPacked(panels, rows, packWeights(k, ws.map((data) => ({ data, outDim: n }))), undefined, fused, 3 * n, new Float64Array(64));
    ws.forEach((w, b) => {
      const { y, mag } = naive(a, rows, k, w, n);
      for (let i = 0; i < rows; i++) {
        expectMatches(fused.subarray(i * 3 * n + b * n, i * 3 * n + (b + 1) * n), y.subarray(i * n, (i + 1) * n), mag.subarray(i * n, (i + 1) * n), false, `block ${b} row ${i}`);
      }
    });
  });

  it('a larger random shape (rows 37, k 70, n 45)', () => {
    const rand = seededRandom(99);
    const a = Float32Array.from({ length: 37 * 70 }, () => rand() * 2 - 1);
    const w = Float32Array.from({ length: 70 * 45 }, () => rand() * 2 - 1);
    const { y, mag } = naive(a, 37, 70, w, 45);
    const out = new Float32Array(37 * 45);
    gemm(a, 37, 70, w, 45, undefined, out, 45);
    expectMatches(out, y, mag, true, 'float32 out');
  });
});

describe('matmulPacked on a panel of few rows (a one-token projection)', () => {
  // Row by row (rowTimesPanel) sums the same products in the same order as the 8 x 8 kernel's row: same bits.
  it('gives the bits of the same rows computed inside a full 8-row panel', () => {
    const [k, n] = [37, 21];
    const full = randomTensor([TILE, k], 61).data;
    const w = packWeights(k, [{ data: randomTensor([k, n], 62).data, outDim: n }]);
    const bias = Float64Array.from(randomTensor([n], 63).data);
    const panels = new Float64Array(TILE * k);
    packRowPanels(full, 0, k, TILE, k, panels);
    const want = new Float64Array(TILE * n);
    matmulPacked(panels, TILE, w, bias, want, n, new Float64Array(64));
    expect(FEW_ROWS).toBeGreaterThanOrEqual(1);
    for (let rows = 1; rows <= FEW_ROWS; rows++) {
      const few = new Float64Array(TILE * k);
      packRowPanels(full, 0, k, rows, k, few);
      const got = new Float64Array(rows * n);
      matmulPacked(few, rows, w, bias, got, n, new Float64Array(64));
      expect(Array.from(got), `rows ${rows}`).toEqual(Array.from(want.subarray(0, rows * n)));
    }
  });
});
