// The decode-step paths: the small-query attention kernel (<= 6 query rows per head, no packing), a
// module cache's storage read in place (kvRowsPerHead > tk), and the GEMM's row-by-row path for <= 3 rows.
// Oracles: core's float64 reference; for the GEMM, the 4x8 micro-kernel's bits on the same row.
import { randomTensor, referenceAttention, type AttentionMask, type AttentionOptions, type Tensor, type ValidAttention } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from './index.js';
import { coreAttention } from './kernels.js';
import { WasmRuntime } from './runtime.js';
import { expectClose } from './test-support/compare.js';

const backend = createWasmBackend({ simd: 'simd' });
let seed = 7001;

describe('small-query attention vs referenceAttention', () => {
  const bool = (shape: number[], bit: (i: number) => boolean): AttentionMask => ({ kind: 'bool', shape, data: Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (bit(i) ? 1 : 0)) });
  const additive = (shape: number[], v: (i: number) => number): AttentionMask => ({ kind: 'additive', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => v(i)) });
  // [name, Tq, Tk, Hq, Hkv, dk, dv, options]: Tq 1..7 crosses SMALL_QUERY_ROWS; Tk crosses the 4-key
  // blocks of the dot products; dk / dv cross the 4-float vectors and the 32-column blocks of the V sum.
  const cases: [string, number, number, number, number, number, number, AttentionOptions][] = [
    ['Tq1 Tk1', 1, 1, 1, 1, 4, 4, {}],
    ['Tq1 Tk130 dk64 dv64', 1, 130, 2, 2, 64, 64, {}],
    ['Tq1 Tk37 dk7 dv37, gqa 6/2', 1, 37, 6, 2, 7, 37, {}],
    ['Tq2 Tk9 dk9 dv3 causal (top-left)', 2, 9, 2, 1, 9, 3, { causal: true }],
    ['Tq3 Tk21 softcap, scale 3', 3, 21, 2, 2, 8, 35, { softcap: 0.7, scale: 3 }],
    ['Tq4 Tk10 bool mask with an empty row', 4, 10, 2, 2, 5, 6, { mask: bool([4, 10], (i) => i >= 10 && i % 3 !== 0) }],
    ['Tq5 Tk11 additive mask with -inf, causal', 5, 11, 3, 3, 12, 33, { causal: true, mask: additive([5, 11], (i) => (i % 4 === 0 ? -Infinity : (i % 5) - 2)) }],
    ['Tq6 Tk67 gqa 4/1', 6, 67, 4, 1, 16, 64, { causal: true }],
    ['Tq7 Tk67 (tiled kernels)', 7, 67, 4, 2, 16, 64, {}],
  ];
  for (const [name, tq, tk, hq, hkv, dk, dv, options] of cases) {
    it(name, async () => {
      const q = randomTensor([2, hq, tq, dk], (seed += 5));
      const k = randomTensor([2, hkv, tk, dk], seed + 1);
      const v = randomTensor([2, hkv, tk, dv], seed + 2);
      const ref = referenceAttention(q, k, v, options);
      const r = await backend.attention(q, k, v, { ...options, returnWeights: true });
      expectClose(r.output.data, ref.output.data, `${name} output`);
      expectClose(r.weights!.data, ref.weights.data, `${name} weights`, false);
      const plain = await backend.attention(q, k, v, options);
      expectClose(plain.output.data, ref.output.data, `${name} output without weights`);
    });
  }

  it('a fully masked row gives zeros, a -3.4e38 row uniform weights', async () => {
    const q = randomTensor([1, 1, 2, 8], (seed += 5));
    const k = randomTensor([1, 1, 9, 8], seed + 1);
    const v = randomTensor([1, 1, 9, 8], seed + 2);
    const mask = additive([2, 9], (i) => (i < 9 ? -Infinity : -3.4028234663852886e38));
    const r = await backend.attention(q, k, v, { mask, returnWeights: true });
    expect(Array.from(r.output.data.subarray(0, 8))).toEqual(new Array(8).fill(0));
    const ref = referenceAttention(q, k, v, { mask });
    expectClose(r.output.data, ref.output.data, 'output');
    expectClose(r.weights!.data, ref.weights.data, 'weights', false);
  });
});

describe('kvRowsPerHead > tk: a module cache storage read in place', () => {
  it('reads only the first tk rows of each head (the rest is NaN here)', async () => {
    const rt = await WasmRuntime.create('simd');
    const [B, Hq, Hkv, tq, tk, rows, d] = [2, 4, 2, 1, 13, 20, 8];
    const q = randomTensor([B, Hq, tq, d], (seed += 5));
    const k = randomTensor([B, Hkv, tk, d], seed + 1);
    const v = randomTensor([B, Hkv, tk, d], seed + 2);
    const stored = (t: Tensor): Float32Array => {
      const s = new Float32Array(B * Hkv * rows * d).fill(NaN);
      for (let bh = 0; bh < B * Hkv; bh++) s.set(t.data.subarray(bh * tk * d, (bh + 1) * tk * d), bh * rows * d);
      return s;
    };
    const a: ValidAttention = { q: q.data, k: stored(k), v: stored(v), kvRowsPerHead: rows, batch: B, qHeads: Hq, kvHeads: Hkv, tq, tk, dk: d, dv: d, causal: false, scale: 1 / Math.sqrt(d), defaultScale: true, softcap: 0, mask: undefined, returnWeights: true };
    const r = coreAttention(rt, a);
    const ref = referenceAttention(q, k, v, {});
    expectClose(r.output, ref.output.data, 'output');
    expectClose(r.weights!, ref.weights.data, 'weights', false);
  });
});

describe('GEMM of <= 3 rows, row by row', () => {
  it('gives the 4x8 micro-kernel bits (n not a multiple of 32, nor of 8)', async () => {
    const rt = await WasmRuntime.create('simd');
    const { arena, kernels } = rt;
    for (const [k, n] of [[5, 3], [33, 37], [64, 100], [17, 64]] as const) {
      const w = randomTensor([k, n], (seed += 3)).data;
      const bias = randomTensor([Math.ceil(n / 8) * 8], seed + 1).data;
      const a = randomTensor([8, k], seed + 2).data;
      const packed = arena.alloc(kernels.packedSize(k, n) * 4);
      const wPtr = rt.put(w);
      kernels.packB(k, n, wPtr, n, packed);
      const biasPtr = rt.put(bias);
      const aPtr = rt.put(a);
      const small = arena.alloc(3 * n * 4);
      const big = arena.alloc(8 * n * 4);
      for (const m of [1, 2, 3]) {
        kernels.gemm(m, n, k, aPtr, k, packed, biasPtr, small, n);
        // 8 rows run through the micro-kernel; its first m rows are the same rows of A.
        kernels.gemm(8, n, k, aPtr, k, packed, biasPtr, big, n);
        expect(Array.from(rt.take(small, m * n)), `k ${k} n ${n} m ${m}`).toEqual(Array.from(rt.take(big, m * n)));
      }
      // And both are the product within tolerance (float64 oracle).
      const ref = new Float64Array(n);
      for (let c = 0; c < n; c++) {
        let s = bias[c]!;
        for (let i = 0; i < k; i++) s += a[i]! * w[i * n + c]!;
        ref[c] = s;
      }
      kernels.gemm(1, n, k, aPtr, k, packed, biasPtr, small, n);
      expectClose(rt.take(small, n), ref, `k ${k} n ${n} vs float64`);
    }
  });
});
