import { isMhaError, MhaErrorCode, randomTensor, referenceAttention, type AttentionMask, type AttentionOptions } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { tsBackend } from './index.js';
import { expectAllClose, maxAbs, REFERENCE_TOLERANCE, scaledTolerance, type Tolerance } from './test-support/compare.js';

interface Case {
  name: string;
  q: number[];
  k: number[];
  v: number[];
  options?: AttentionOptions;
  /** Inputs multiplied by this (large logits). */
  magnitude?: number;
}

let seed = 100;
async function check(c: Case, tol: Tolerance = REFERENCE_TOLERANCE) {
  const s = (seed += 3);
  const mag = c.magnitude ?? 1;
  const q = randomTensor(c.q, s, mag);
  const k = randomTensor(c.k, s + 1, mag);
  const v = randomTensor(c.v, s + 2);
  const ref = referenceAttention(q, k, v, c.options);
  const withWeights = await tsBackend.attention(q, k, v, { ...c.options, returnWeights: true });
  expect(withWeights.output.shape).toEqual(ref.output.shape);
  expect(withWeights.weights!.shape).toEqual(ref.weights.shape);
  expectAllClose(withWeights.output.data, ref.output.data, scaledTolerance(tol, maxAbs(ref.output.data)), `${c.name}: output`);
  expectAllClose(withWeights.weights!.data, ref.weights.data, tol, `${c.name}: weights`);
  // Asking for the weights must not change the output.
  const plain = await tsBackend.attention(q, k, v, { ...c.options, returnWeights: false });
  expect(plain.weights).toBeUndefined();
  expect(Array.from(plain.output.data)).toEqual(Array.from(withWeights.output.data));
  return withWeights;
}

const bool = (shape: number[], bits: (i: number) => boolean): AttentionMask => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'bool', data: Uint8Array.from({ length: n }, (_, i) => (bits(i) ? 1 : 0)), shape };
};
const additive = (shape: number[], value: (i: number) => number): AttentionMask => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'additive', data: Float32Array.from({ length: n }, (_, i) => value(i)), shape };
};

describe('core op vs the float64 reference', () => {
  describe('self-attention over tile edges (T around multiples of 8), causal on/off', () => {
    for (const T of [1, 2, 7, 8, 9, 16, 17, 33])
      for (const [B, H, d] of [
        [1, 1, 1],
        [2, 3, 4],
        [1, 2, 9],
      ] as const)
        for (const causal of [false, true]) {
          it(`B${B} H${H} T${T} d${d}${causal ? ' causal' : ''}`, () => check({ name: 'self', q: [B, H, T, d], k: [B, H, T, d], v: [B, H, T, d], options: { causal } }));
        }
  });

  it('scale override', () => check({ name: 'scale', q: [2, 2, 6, 8], k: [2, 2, 6, 8], v: [2, 2, 6, 8], options: { causal: true, scale: 0.05 } }));
  it('scale 0 gives uniform weights over the visible keys', async () => {
    const r = await check({ name: 'scale 0', q: [1, 1, 3, 2], k: [1, 1, 3, 2], v: [1, 1, 3, 2], options: { causal: true, scale: 0 } });
    expectAllClose(r.weights!.data, [1, 0, 0, 1 / 2, 1 / 2, 0, 1 / 3, 1 / 3, 1 / 3], { atol: 0, rtol: 2 ** -24 }, 'uniform');
  });

  describe('cross-attention (Tq != Tk), causal is top-left aligned', () => {
    for (const [tq, tk] of [
      [3, 7],
      [9, 4],
      [17, 5],
      [1, 12],
      [12, 1],
      [20, 19],
    ] as const)
      for (const causal of [false, true]) {
        it(`Tq ${tq}, Tk ${tk}${causal ? ', causal' : ''}`, () => check({ name: 'cross', q: [2, 2, tq, 4], k: [2, 2, tk, 4], v: [2, 2, tk, 4], options: { causal } }));
      }
  });

  describe('grouped-query (Hkv < Hq)', () => {
    it('GQA 4 -> 2, causal', () => check({ name: 'gqa', q: [2, 4, 9, 4], k: [2, 2, 9, 4], v: [2, 2, 9, 4], options: { causal: true } }));
    it('MQA 6 -> 1', () => check({ name: 'mqa', q: [1, 6, 10, 3], k: [1, 1, 10, 3], v: [1, 1, 10, 3] }));
    it('GQA with cross-attention and a different value size', () =>
      check({ name: 'gqa-cross-dv', q: [2, 6, 5, 4], k: [2, 3, 11, 4], v: [2, 3, 11, 9], options: { causal: true } }));
  });

  describe('value head size != key head size', () => {
    it('dk 4, dv 7', () => check({ name: 'dv7', q: [1, 2, 4, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 7] }));
    it('dk 9, dv 1, causal', () => check({ name: 'dv1', q: [2, 1, 10, 9], k: [2, 1, 10, 9], v: [2, 1, 10, 1], options: { causal: true } }));
    it('dk 3, dv 17 (three value panels)', () => check({ name: 'dv17', q: [1, 2, 9, 3], k: [1, 2, 9, 3], v: [1, 2, 9, 17] }));
  });

  describe('masks', () => {
    it('bool [Tq, Tk] with a fully masked row: that row is zeros, never NaN', async () => {
      const r = await check({ name: 'bool-2d', q: [1, 2, 3, 4], k: [1, 2, 3, 4], v: [1, 2, 3, 4], options: { mask: bool([3, 3], (i) => [1, 0, 1, 0, 0, 0, 1, 1, 1][i] === 1) } });
      for (let h = 0; h < 2; h++) {
        expect(Array.from(r.output.data.subarray(h * 12 + 4, h * 12 + 8))).toEqual([0, 0, 0, 0]);
        expect(Array.from(r.weights!.data.subarray(h * 9 + 3, h * 9 + 6))).toEqual([0, 0, 0]);
      }
    });
    it('bool broadcast over heads [B, 1, Tq, Tk], causal', () =>
      check({ name: 'bool-b1', q: [2, 3, 9, 4], k: [2, 3, 9, 4], v: [2, 3, 9, 4], options: { causal: true, mask: bool([2, 1, 9, 9], (i) => (i * 7) % 5 !== 0) } }));
    it('bool per key only [1, Hq, 1, Tk] (padding mask), cross-attention', () =>
      check({ name: 'bool-keys', q: [1, 2, 4, 4], k: [1, 2, 10, 4], v: [1, 2, 10, 4], options: { mask: bool([1, 2, 1, 10], (i) => i % 10 < 7) } }));
    it('additive [B, 1, Tq, Tk] with -Infinity, causal', () =>
      check({ name: 'additive', q: [2, 2, 3, 4], k: [2, 2, 3, 4], v: [2, 2, 3, 4], options: { causal: true, mask: additive([2, 1, 3, 3], (i) => [0, -1, 2, 0.5, 0, -Infinity, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0][i]!) } }));
    it('additive rank 3 [Hq, Tq, Tk] with grouped-query', () =>
      check({ name: 'additive-gqa', q: [2, 4, 6, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], options: { mask: additive([4, 6, 6], (i) => ((i * 13) % 7) - 3) } }));
    it('an additive row of -Infinity is zeros too', async () => {
      const r = await check({ name: 'additive-masked-row', q: [1, 1, 2, 3], k: [1, 1, 2, 3], v: [1, 1, 2, 3], options: { mask: additive([2, 2], (i) => (i >= 2 ? -Infinity : 0)) } });
      expect(Array.from(r.output.data.subarray(3))).toEqual([0, 0, 0]);
    });
  });

  describe('softcap', () => {
    it('softcap 1.5', () => check({ name: 'softcap', q: [1, 2, 4, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 4], options: { softcap: 1.5 } }));
    it('softcap with large logits, a mask and causal masking', () =>
      check({ name: 'softcap-mask', q: [2, 2, 9, 5], k: [2, 2, 9, 5], v: [2, 2, 9, 5], magnitude: 30, options: { softcap: 20, causal: true, mask: bool([9, 9], (i) => i % 4 !== 1) } }));
  });

  describe('large logits stay finite', () => {
    for (const magnitude of [1e2, 1e3]) {
      it(`q and k x${magnitude} (logits ~${magnitude * magnitude})`, async () => {
        const r = await check({ name: `x${magnitude}`, q: [1, 2, 9, 4], k: [1, 2, 9, 4], v: [1, 2, 9, 4], magnitude, options: { causal: true } });
        expect(r.output.data.every(Number.isFinite)).toBe(true);
        expect(r.weights!.data.every(Number.isFinite)).toBe(true);
      });
    }
  });

  it('does not modify its inputs', async () => {
    const q = randomTensor([1, 2, 5, 3], 1);
    const k = randomTensor([1, 2, 5, 3], 2);
    const v = randomTensor([1, 2, 5, 3], 3);
    const copies = [q, k, v].map((t) => t.data.slice());
    await tsBackend.attention(q, k, v, { causal: true, returnWeights: true });
    [q, k, v].forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(copies[i]!)));
  });

  it('core validation runs before the kernel: a mismatched head size is MHA_DIM_MISMATCH', async () => {
    const err = await tsBackend.attention(randomTensor([1, 1, 2, 3], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3)).catch((e: unknown) => e);
    expect(isMhaError(err, MhaErrorCode.DimMismatch)).toBe(true);
  });
});
