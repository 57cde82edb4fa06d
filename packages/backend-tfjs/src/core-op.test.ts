import { randomTensor, referenceAttention, type AttentionMask, type AttentionOptions, type Tensor } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { expectClose, goldenAttention, goldenIds, VARIANTS, variantName } from './test-helpers.js';

interface Case {
  readonly name: string;
  /** `[B, Hq, Tq, dk]`, `[B, Hkv, Tk, dk]`, `[B, Hkv, Tk, dv]` */
  readonly shapes: readonly [readonly number[], readonly number[], readonly number[]];
  readonly options: AttentionOptions;
}

function boolMask(shape: number[], attend: (i: number) => boolean): AttentionMask {
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'bool', data: Uint8Array.from({ length: n }, (_, i) => (attend(i) ? 1 : 0)), shape };
}

function additiveMask(shape: number[], value: (i: number) => number): AttentionMask {
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'additive', data: Float32Array.from({ length: n }, (_, i) => value(i)), shape };
}

const CASES: readonly Case[] = [
  { name: 'self, default scale', shapes: [[2, 3, 5, 4], [2, 3, 5, 4], [2, 3, 5, 4]], options: {} },
  { name: 'self, causal, custom scale', shapes: [[2, 3, 5, 4], [2, 3, 5, 4], [2, 3, 5, 4]], options: { causal: true, scale: 0.7 } },
  { name: 'cross Tq < Tk, causal (top-left)', shapes: [[1, 2, 3, 4], [1, 2, 7, 4], [1, 2, 7, 4]], options: { causal: true } },
  { name: 'cross Tq > Tk, causal (top-left)', shapes: [[2, 2, 6, 3], [2, 2, 4, 3], [2, 2, 4, 3]], options: { causal: true } },
  { name: 'grouped-query 4 -> 2', shapes: [[2, 4, 5, 4], [2, 2, 5, 4], [2, 2, 5, 4]], options: { causal: true } },
  { name: 'multi-query 6 -> 1, cross', shapes: [[1, 6, 3, 2], [1, 1, 5, 2], [1, 1, 5, 2]], options: {} },
  { name: 'value head dim 6 != 4', shapes: [[2, 2, 5, 4], [2, 2, 5, 4], [2, 2, 5, 6]], options: { causal: true } },
  { name: 'softcap 1.5', shapes: [[1, 2, 5, 4], [1, 2, 5, 4], [1, 2, 5, 4]], options: { softcap: 1.5, scale: 3 } },
  {
    name: 'bool mask [Tq, Tk] with a fully masked row',
    shapes: [[2, 2, 4, 3], [2, 2, 6, 3], [2, 2, 6, 3]],
    options: { mask: boolMask([4, 6], (i) => i >= 6 && i % 5 !== 0) },
  },
  {
    name: 'bool mask [B, 1, 1, Tk] (key padding) + causal',
    shapes: [[2, 3, 5, 4], [2, 3, 5, 4], [2, 3, 5, 4]],
    options: { causal: true, mask: boolMask([2, 1, 1, 5], (i) => i !== 0 && i !== 7) },
  },
  {
    name: 'bool mask [B, Hq, Tq, Tk], GQA, value dim, every row of one head masked',
    shapes: [[2, 4, 3, 4], [2, 2, 5, 4], [2, 2, 5, 6]],
    options: { mask: boolMask([2, 4, 3, 5], (i) => (i >= 15 && i < 30 ? false : (i * 7) % 3 !== 0)) },
  },
  {
    name: 'additive mask [Hq, Tq, Tk] with -Infinity rows and finite values',
    shapes: [[1, 2, 4, 4], [1, 2, 5, 4], [1, 2, 5, 4]],
    options: { mask: additiveMask([2, 4, 5], (i) => (i < 5 || i % 4 === 1 ? -Infinity : 0.25 * (i % 3) - 0.3)) },
  },
  {
    // A row whose every entry is shifted by a large finite negative is not masked: it is an ordinary
    // softmax of the shifted scores (which float32 still resolves at this magnitude), not zeros.
    name: 'additive mask of large finite negatives on whole rows (not masked)',
    shapes: [[1, 1, 3, 4], [1, 1, 4, 4], [1, 1, 4, 4]],
    options: { mask: additiveMask([3, 4], (i) => (i < 8 ? -60 - 0.5 * (i % 2) : 0)) },
  },
  {
    name: 'softcap + additive mask + causal + GQA + cross',
    shapes: [[2, 4, 3, 4], [2, 2, 6, 4], [2, 2, 6, 5]],
    options: { softcap: 2, causal: true, mask: additiveMask([2, 1, 3, 6], (i) => (i % 7 === 3 ? -Infinity : -0.1 * (i % 4))) },
  },
];

function tensors(c: Case, seed: number): [Tensor, Tensor, Tensor] {
  const [qs, ks, vs] = c.shapes;
  return [randomTensor(qs, seed), randomTensor(ks, seed + 1), randomTensor(vs, seed + 2)];
}

for (const backend of VARIANTS) {
  describe(`core op on ${variantName(backend)}`, () => {
    it('declares every optional capability', () => {
      expect([...backend.capabilities].sort()).toEqual(['attn-mask', 'cross-attention', 'grouped-query', 'softcap', 'value-head-dim']);
    });

    describe('vs the PyTorch golden fixtures', () => {
      for (const id of goldenIds('attention')) {
        it(id, async () => {
          const f = goldenAttention(id);
          const r = await backend.attention(f.q, f.k, f.v, { ...f.options, returnWeights: true });
          expectClose(r.output.data, f.output.data, `${id} output`);
          expectClose(r.weights!.data, f.attentionWeights.data, `${id} weights`);
        });
      }
    });

    describe('vs the float64 reference', () => {
      CASES.forEach((c, ci) => {
        it(c.name, async () => {
          const [q, k, v] = tensors(c, 31 * ci + 1);
          const options = { ...c.options, returnWeights: true };
          const e = referenceAttention(q, k, v, options);
          const r = await backend.attention(q, k, v, options);
          expect(r.output.shape).toEqual(e.output.shape);
          expectClose(r.output.data, e.output.data, 'output');
          expectClose(r.weights!.data, e.weights.data, 'weights');
        });
      });
    });

    it('a fully masked row gives exact zeros, never NaN (bool and additive -Infinity)', async () => {
      const q = randomTensor([1, 1, 2, 3], 7);
      const k = randomTensor([1, 1, 3, 3], 8);
      const v = randomTensor([1, 1, 3, 3], 9);
      for (const mask of [boolMask([2, 3], (i) => i < 3), additiveMask([2, 3], (i) => (i < 3 ? 0 : -Infinity))]) {
        const r = await backend.attention(q, k, v, { mask, returnWeights: true });
        expect(Array.from(r.output.data.subarray(3))).toEqual([0, 0, 0]);
        expect(Array.from(r.weights!.data.subarray(3))).toEqual([0, 0, 0]);
        expect(r.output.data.subarray(0, 3).every(Number.isFinite)).toBe(true);
      }
    });

    it('returns weights only when asked', async () => {
      const [q, k, v] = tensors(CASES[0]!, 5);
      expect((await backend.attention(q, k, v)).weights).toBeUndefined();
    });
  });
}
