import { randomTensor, referenceAttention, type AttentionMask, type AttentionOptions } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { runSmallQueryAttention, runTiledAttention, SMALL_QUERY_ROWS, type AttentionProblem } from './attention-kernel.js';
import { coreAttention } from './core-op.js';
import { tsBackend } from './index.js';
import { ScratchPool } from './scratch.js';
import { expectAllClose, maxAbs, REFERENCE_TOLERANCE, scaledTolerance } from './test-support/compare.js';

// The small-query path of the attention kernel (a decode step: Tq = 1..SMALL_QUERY_ROWS over many keys),
// against core's float64 reference, at the edge shapes: one key, a key count off the 4-key unroll, a long
// cache, grouped-query, masks, soft-cap, causal, head dims off the 8-column unroll.

interface Shape {
  readonly B: number;
  readonly Hq: number;
  readonly Hkv: number;
  readonly tq: number;
  readonly tk: number;
  readonly dk: number;
  readonly dv: number;
}

let seed = 7000;
function tensors(s: Shape) {
  const n = (seed += 3);
  return {
    q: randomTensor([s.B, s.Hq, s.tq, s.dk], n),
    k: randomTensor([s.B, s.Hkv, s.tk, s.dk], n + 1),
    v: randomTensor([s.B, s.Hkv, s.tk, s.dv], n + 2),
  };
}

async function check(s: Shape, options: AttentionOptions = {}) {
  const { q, k, v } = tensors(s);
  const ref = referenceAttention(q, k, v, options);
  const got = await tsBackend.attention(q, k, v, { ...options, returnWeights: true });
  expectAllClose(got.output.data, ref.output.data, scaledTolerance(REFERENCE_TOLERANCE, maxAbs(ref.output.data)), 'output');
  expectAllClose(got.weights!.data, ref.weights.data, REFERENCE_TOLERANCE, 'weights');
  return got;
}

const shape = (tq: number, tk: number, extra: Partial<Shape> = {}): Shape => ({ B: 2, Hq: 3, Hkv: 3, tq, tk, dk: 64, dv: 64, ...extra });

describe('small-query attention vs the float64 reference', () => {
  for (const tk of [1, 7, 1031])
    for (const [dk, dv] of [
      [64, 64],
      [3, 13],
    ] as const) {
      it(`Tq 1, Tk ${tk}, dk ${dk}, dv ${dv}`, () => check(shape(1, tk, { dk, dv })));
      it(`Tq 1, Tk ${tk}, dk ${dk}, dv ${dv}, causal (sees key 0 only)`, () => check(shape(1, tk, { dk, dv }), { causal: true }));
    }
  for (const tq of [2, SMALL_QUERY_ROWS, SMALL_QUERY_ROWS + 1]) it(`Tq ${tq} around the threshold, Tk 37, causal`, () => check(shape(tq, 37), { causal: true }));

  it('GQA 4 -> 2 and MQA 6 -> 1, Tq 1 over 1031 keys', async () => {
    await check({ B: 2, Hq: 4, Hkv: 2, tq: 1, tk: 1031, dk: 16, dv: 8 });
    await check({ B: 1, Hq: 6, Hkv: 1, tq: 1, tk: 1031, dk: 9, dv: 5 });
  });

  it('soft-cap, with large logits', async () => {
    const s = shape(1, 1031, { dk: 8, dv: 8 });
    const { q, k, v } = tensors(s);
    for (const x of [q, k]) for (let i = 0; i < x.data.length; i++) x.data[i]! *= 30;
    const ref = referenceAttention(q, k, v, { softcap: 5 });
    const got = await tsBackend.attention(q, k, v, { softcap: 5, returnWeights: true });
    expectAllClose(got.output.data, ref.output.data, REFERENCE_TOLERANCE, 'output');
    expectAllClose(got.weights!.data, ref.weights.data, REFERENCE_TOLERANCE, 'weights');
  });

  it('bool mask broadcast over heads, with one fully masked row (zeros)', async () => {
    const s = shape(1, 1031, { dk: 8, dv: 8 });
    // [B, 1, 1, Tk]: batch 0 sees every third key (the last one too), batch 1 sees none.
    const data = Uint8Array.from({ length: 2 * 1031 }, (_, i) => (i < 1031 && i % 3 === 1 ? 1 : 0));
    const mask: AttentionMask = { kind: 'bool', data, shape: [2, 1, 1, 1031] };
    const got = await check(s, { mask });
    const out = got.output.data;
    expect(Array.from(out.subarray(out.length / 2)).every((x) => x === 0)).toBe(true);
  });

  it('additive mask: -Infinity hides a key, float32-lowest is a number (uniform over a row of it)', async () => {
    const s = shape(1, 7, { Hq: 2, Hkv: 2, dk: 4, dv: 4 });
    const lowest = -3.4028234663852886e38;
    // [B, Hq, 1, Tk]; (b 0, h 0): a mix; (b 0, h 1): all lowest; (b 1, h 0): all -Infinity; (b 1, h 1): last key only.
    const rows = [
      [0, -Infinity, 1.5, lowest, -1e9, 0.25, -Infinity],
      Array(7).fill(lowest),
      Array(7).fill(-Infinity),
      [...Array(6).fill(-Infinity), 0],
    ];
    const mask: AttentionMask = { kind: 'additive', data: Float32Array.from(rows.flat()), shape: [2, 2, 1, 7] };
    const got = await check(s, { mask });
    const w = got.weights!.data;
    for (let j = 0; j < 7; j++) expect(w[7 + j]).toBeCloseTo(1 / 7, 7);
    expect(Array.from(w.subarray(14, 21))).toEqual(Array(7).fill(0));
    expect(w[27]).toBe(1);
  });
});

describe('small-query attention reads a strided K/V in place', () => {
  it('kvRowsPerHead > tk: only the first tk rows of each head are keys', () => {
    const [B, Hq, Hkv, tk, rowsPerHead, dk, dv] = [2, 4, 2, 1031, 1040, 16, 8];
    const { q, k, v } = tensors({ B, Hq, Hkv, tq: 1, tk, dk, dv });
    // The storage [B, Hkv, rowsPerHead, d] holds the keys and NaN in the rows past tk: reading one fails.
    const store = (t: Float32Array, d: number) => {
      const s = new Float32Array(B * Hkv * rowsPerHead * d).fill(NaN);
      for (let bh = 0; bh < B * Hkv; bh++) s.set(t.subarray(bh * tk * d, (bh + 1) * tk * d), bh * rowsPerHead * d);
      return s;
    };
    const ref = referenceAttention(q, k, v, {});
    const got = coreAttention({
      batch: B, qHeads: Hq, kvHeads: Hkv, tq: 1, tk, dk, dv,
      q: q.data, k: store(k.data, dk), v: store(v.data, dv),
      causal: false, scale: 1 / Math.sqrt(dk), defaultScale: true, softcap: 0, mask: undefined, returnWeights: true,
      kvRowsPerHead: rowsPerHead,
    });
    expectAllClose(got.output, ref.output.data, REFERENCE_TOLERANCE, 'output');
    expectAllClose(got.weights!, ref.weights.data, REFERENCE_TOLERANCE, 'weights');
  });
});

describe('small-query path equals the tiled path', () => {
  // Same sums in the same order (see runSmallQueryAttention), so the same bits on finite data.
  for (const [tq, tk, causal] of [
    [1, 1031, false],
    [3, 40, true],
    [SMALL_QUERY_ROWS, 9, false],
  ] as const)
    it(`Tq ${tq}, Tk ${tk}${causal ? ', causal' : ''}, GQA 4 -> 2, soft-cap and additive mask`, () => {
      const [B, Hq, Hkv, dk, dv] = [2, 4, 2, 12, 10];
      const { q, k, v } = tensors({ B, Hq, Hkv, tq, tk, dk, dv });
      const maskData = Float32Array.from({ length: tq * tk }, (_, i) => (i % 5 === 1 ? -Infinity : (i % 3) - 1));
      const layout = (data: Float32Array, heads: number, rows: number, d: number) => ({ data, offset: 0, batchStride: heads * rows * d, headStride: rows * d, rowStride: d });
      const run = (kernel: typeof runTiledAttention) => {
        const out = new Float32Array(B * Hq * tq * dv);
        const weights = new Float32Array(B * Hq * tq * tk);
        const p: AttentionProblem = {
          batch: B, qHeads: Hq, kvHeads: Hkv, tq, tk, dk, dv,
          q: layout(q.data, Hq, tq, dk), k: layout(k.data, Hkv, tk, dk), v: layout(v.data, Hkv, tk, dv), out: layout(out, Hq, tq, dv),
          scale: 0.3, causal, softcap: 2.5, mask: { kind: 'additive', data: maskData, strides: [0, 0, tk, 1] }, weights,
        };
        kernel(p, new ScratchPool(false));
        return { out, weights };
      };
      const small = run(runSmallQueryAttention);
      const tiled = run(runTiledAttention);
      expect(Array.from(small.out)).toEqual(Array.from(tiled.out));
      expect(Array.from(small.weights)).toEqual(Array.from(tiled.weights));
    });
});
