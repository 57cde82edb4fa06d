import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { fromPerHead, fromTorchLinear, fromTorchMultiheadAttention, fromTorchStateDict, toPerHead, transpose } from './convert.js';
import { isMhaError, MhaErrorCode } from './errors.js';
import { initWeights, uniformArray, seededRandom } from './init.js';
import { referenceForward } from './reference/forward.js';
import { randomTensor } from './init.js';
import { parameterCount, validateWeights } from './weights.js';

const iota = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => i + from);

describe('layout converters', () => {
  it('transpose turns torch [out, in] into canonical [in, out]', () => {
    // torch weight rows are outputs: W[o, i] = 10*o + i.
    const w = Float32Array.from([0, 1, 2, 10, 11, 12]); // [2 out, 3 in]
    expect(Array.from(transpose(w, 2, 3))).toEqual([0, 10, 1, 11, 2, 12]); // [3 in, 2 out]
  });

  it('fromTorchLinear transposes each projection and keeps biases', () => {
    const cfg = resolveConfig({ dIn: 3, dOut: 2, heads: 1, qkvBias: true });
    const lin = (o: number) => ({ weight: iota(6, o), bias: Float32Array.from([o, o + 1]) });
    const w = fromTorchLinear(cfg, { query: lin(0), key: lin(100), value: lin(200), out: { weight: iota(4), bias: iota(2) } });
    expect(Array.from(w.wk)).toEqual([100, 103, 101, 104, 102, 105]);
    expect(Array.from(w.bv!)).toEqual([200, 201]);
    expect(Array.from(w.wo!)).toEqual([0, 2, 1, 3]);
  });

  it('fromTorchMultiheadAttention splits in_proj rows into q, k, v', () => {
    const cfg = resolveConfig({ dIn: 2, dOut: 2, heads: 1, qkvBias: true });
    const w = fromTorchMultiheadAttention(cfg, { inProjWeight: iota(12), inProjBias: iota(6, 50), outProjWeight: iota(4), outProjBias: iota(2) });
    expect(Array.from(w.wq)).toEqual([0, 2, 1, 3]);
    expect(Array.from(w.wk)).toEqual([4, 6, 5, 7]);
    expect(Array.from(w.wv)).toEqual([8, 10, 9, 11]);
    expect(Array.from(w.bk!)).toEqual([52, 53]);
  });

  it('toPerHead and fromPerHead are inverse and per-head modules reproduce the fused one', () => {
    const cfg = resolveConfig({ dIn: 5, heads: 3, headDim: 2, qkvBias: true, outProj: false, causal: true });
    const w = initWeights(cfg, 7);
    const heads = toPerHead(cfg, w);
    expect(heads).toHaveLength(3);
    const back = fromPerHead(cfg, heads);
    for (const k of ['wq', 'wk', 'wv', 'bq', 'bk', 'bv'] as const) expect(Array.from(back[k]!)).toEqual(Array.from(w[k]!));
    const x = randomTensor([2, 4, 5], 3);
    const fused = referenceForward(cfg, w, x).output.data;
    const one = resolveConfig({ dIn: 5, heads: 1, headDim: 2, qkvBias: true, outProj: false, causal: true });
    heads.forEach((h, i) => {
      const out = referenceForward(one, fromPerHead(one, [h]), x).output.data;
      for (let r = 0; r < 8; r++) for (let d = 0; d < 2; d++) expect(out[r * 2 + d]).toBe(fused[r * 6 + i * 2 + d]);
    });
  });

  it('fromTorchStateDict rejects keys from another layout and wrong shapes, naming the key', () => {
    const cfg = resolveConfig({ dIn: 2, dOut: 2, heads: 1, outProjBias: false });
    const sd = { 'W_query.weight': iota(4), 'W_key.weight': iota(4), 'W_value.weight': iota(4), 'out_proj.weight': iota(4) };
    expect(() => fromTorchStateDict('book-mha', cfg, sd)).not.toThrow();
    const expectErr = (fn: () => unknown, code: string, field: string) => {
      try {
        fn();
        throw new Error('no error');
      } catch (e) {
        expect(isMhaError(e) && [e.code, e.field]).toEqual([code, field]);
      }
    };
    expectErr(() => fromTorchStateDict('book-mha', cfg, { ...sd, in_proj_weight: iota(12) }), MhaErrorCode.WeightShape, 'in_proj_weight');
    expectErr(() => fromTorchStateDict('book-mha', cfg, { ...sd, 'W_key.weight': iota(6) }), MhaErrorCode.WeightShape, 'W_key.weight');
    expectErr(() => fromTorchStateDict('book-mha', cfg, { ...sd, 'W_key.weight': { data: iota(4), shape: [1, 4] } }), MhaErrorCode.WeightShape, 'W_key.weight');
    expectErr(() => fromTorchStateDict('book-mha', cfg, { ...sd, 'out_proj.bias': iota(2) }), MhaErrorCode.WeightShape, 'out_proj.bias');
  });
});

describe('validateWeights', () => {
  it('returns a frozen copy of the references and rejects Float64Array', () => {
    const cfg = resolveConfig({ dIn: 2, heads: 1, headDim: 2 });
    const w = initWeights(cfg, 1);
    expect(Object.isFrozen(validateWeights(cfg, w))).toBe(true);
    expect(() => validateWeights(cfg, { ...w, wq: new Float64Array(4) as never })).toThrow(/MHA_INVALID_TYPE: weights.wq/);
  });
});

describe('parameter count', () => {
  it("seed 001's claim: 128 -> 4 x 32 heads has exactly the parameters of one 128-wide head", () => {
    const multi = resolveConfig({ dIn: 128, heads: 4, headDim: 32 });
    const single = resolveConfig({ dIn: 128, heads: 1, headDim: 128 });
    expect(parameterCount(multi)).toBe(parameterCount(single));
    // 3 projections 128x128 + out_proj 128x128 + its bias.
    expect(parameterCount(multi)).toBe(4 * 128 * 128 + 128);
  });
  it('counts biases only when configured', () => {
    expect(parameterCount(resolveConfig({ dIn: 3, heads: 2, headDim: 1, outProj: false }))).toBe(3 * 3 * 2);
    expect(parameterCount(resolveConfig({ dIn: 3, heads: 2, headDim: 1, qkvBias: true }))).toBe(3 * 3 * 2 + 3 * 2 + 4 + 2);
  });
});

describe('seeded init', () => {
  it('is deterministic and bounded by 1/sqrt(fan_in)', () => {
    const cfg = resolveConfig({ dIn: 16, heads: 2, headDim: 4, qkvBias: true });
    const a = initWeights(cfg, 42);
    const b = initWeights(cfg, 42);
    expect(Array.from(a.wq)).toEqual(Array.from(b.wq));
    expect(Array.from(initWeights(cfg, 43).wq)).not.toEqual(Array.from(a.wq));
    expect(Math.max(...Array.from(a.wq, Math.abs))).toBeLessThanOrEqual(1 / 4);
    expect(Math.max(...Array.from(a.wo!, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8));
    const u = uniformArray(10_000, 1, seededRandom(1));
    const mean = u.reduce((s, v) => s + v, 0) / u.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
  });
});
