import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { fromPackedQkv, fromPerHead, fromTorchLinear, fromTorchMultiheadAttention, fromTorchStateDict, toPerHead, transpose } from './convert.js';
import { isMhaError, MhaErrorCode } from './errors.js';
import { initWeights, uniformArray, seededRandom } from './init.js';
import { referenceForward } from './reference/forward.js';
import { randomTensor } from './init.js';
import { parameterCount, validateWeights } from './weights.js';
import { readFixture } from './test-fixtures.js';

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

function mhaErrorOf(fn: () => unknown): { code: string; field: string; value: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field, value: e.value, message: e.message };
    throw new Error(`expected an MhaError, got ${String(e)}`);
  }
  throw new Error('did not throw');
}

describe('converters take what PyTorch users have (issue 12 item 16)', () => {
  const cfg = resolveConfig({ dIn: 3, dOut: 2, heads: 1, qkvBias: true });
  const f32 = { query: { weight: iota(6), bias: iota(2, 7) }, key: { weight: iota(6, 100), bias: iota(2) }, value: { weight: iota(6, 200), bias: iota(2) }, out: { weight: iota(4), bias: iota(2) } };
  const want = fromTorchLinear(cfg, f32);
  const same = (w: ReturnType<typeof fromTorchLinear>) => {
    for (const k of ['wq', 'wk', 'wv', 'bq', 'bk', 'bv', 'wo', 'bo'] as const) expect(Array.from(w[k]!), k).toEqual(Array.from(want[k]!));
  };
  it('Float64Array, flat and nested (tolist()) arrays and {data, shape} give the Float32Array result', () => {
    same(fromTorchLinear(cfg, { ...f32, query: { weight: Float64Array.from(iota(6)), bias: [7, 8] } }));
    same(fromTorchLinear(cfg, { ...f32, key: { weight: [[100, 101, 102], [103, 104, 105]], bias: { data: [0, 1], shape: [2] } } }));
    same(fromTorchLinear(cfg, { ...f32, value: { weight: { data: Array.from(iota(6, 200)), shape: [2, 3] }, bias: Float64Array.from([0, 1]) } }));
    const packed = fromTorchMultiheadAttention(resolveConfig({ dIn: 2, dOut: 2, heads: 1, qkvBias: true }), {
      inProjWeight: [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]],
      inProjBias: Float64Array.from(iota(6, 50)),
      outProjWeight: [0, 1, 2, 3],
      outProjBias: [0, 1],
    });
    expect(Array.from(packed.wk)).toEqual([4, 6, 5, 7]);
    expect(Array.from(packed.bk!)).toEqual([52, 53]);
  });
  it('results never alias the caller arrays', () => {
    const weight = iota(6);
    const w = fromTorchLinear(cfg, { ...f32, query: { weight, bias: f32.query.bias } });
    expect(w.bq).not.toBe(f32.query.bias);
    expect(w.bq!.buffer).not.toBe(f32.query.bias.buffer);
  });
  it.each([
    ['null weight', () => fromTorchLinear(cfg, { ...f32, query: { weight: null as never, bias: iota(2) } }), MhaErrorCode.InvalidType, 'query.weight', null],
    ['a string', () => fromTorchLinear(cfg, { ...f32, key: { weight: 'abc' as never, bias: iota(2) } }), MhaErrorCode.InvalidType, 'key.weight', 'abc'],
    ['an Int32Array', () => fromTorchLinear(cfg, { ...f32, key: { weight: new Int32Array(6) as never, bias: iota(2) } }), MhaErrorCode.InvalidType, 'key.weight', undefined],
    ['{data} without shape', () => fromTorchLinear(cfg, { ...f32, value: { weight: { data: iota(6) } as never, bias: iota(2) } }), MhaErrorCode.InvalidShape, 'value.weight.shape', undefined],
    ['{data, shape} of the wrong shape', () => fromTorchLinear(cfg, { ...f32, value: { weight: { data: iota(6), shape: [3, 2] }, bias: iota(2) } }), MhaErrorCode.WeightShape, 'value.weight', [3, 2]],
    ['a ragged nested array', () => fromTorchLinear(cfg, { ...f32, key: { weight: [[1, 2, 3], [4, 5]], bias: iota(2) } }), MhaErrorCode.InvalidShape, 'key.weight[1]', 2],
    ['a non-number leaf', () => fromTorchLinear(cfg, { ...f32, key: { weight: [[1, 2, 3], [4, '5', 6]] as never, bias: iota(2) } }), MhaErrorCode.InvalidType, 'key.weight[1][1]', '5'],
    ['a value beyond float32', () => fromTorchLinear(cfg, { ...f32, key: { weight: [1, 2, 3, 4, 1e39, 6], bias: iota(2) } }), MhaErrorCode.NonFinite, 'key.weight[4]', 1e39],
    ['NaN, named in the caller layout', () => fromTorchLinear(cfg, { ...f32, key: { weight: Float64Array.from([1, 2, Number.NaN, 4, 5, 6]), bias: iota(2) } }), MhaErrorCode.NonFinite, 'key.weight[2]', Number.NaN],
    ['parts = null', () => fromTorchLinear(cfg, null as never), MhaErrorCode.InvalidType, 'parts', null],
    ['a Linear that is a number', () => fromTorchLinear(cfg, { ...f32, out: 3 as never }), MhaErrorCode.InvalidType, 'out', 3],
    ['packed weight null', () => fromPackedQkv(cfg, { weight: null as never }), MhaErrorCode.InvalidType, 'in_proj_weight', null],
    ['torch-mha params null', () => fromTorchMultiheadAttention(cfg, null as never), MhaErrorCode.InvalidType, 'params', null],
    ['per-head list not an array', () => fromPerHead(cfg, 'heads' as never), MhaErrorCode.InvalidType, 'heads', 'heads'],
    ['a per-head entry null', () => fromPerHead(cfg, [null as never]), MhaErrorCode.InvalidType, 'heads[0]', null],
    ['a per-head nested weight of the wrong shape', () => fromPerHead(cfg, [{ wq: [[1, 2, 3], [4, 5, 6]], wk: iota(6), wv: iota(6), bq: iota(2), bk: iota(2), bv: iota(2) }], { wo: iota(4), bo: iota(2) }), MhaErrorCode.WeightShape, 'heads[0].wq', [2, 3]],
    ['toPerHead of plain arrays (canonical weights are Float32Array)', () => toPerHead(cfg, { ...want, wq: [0, 1, 2, 3, 4, 5] as never }), MhaErrorCode.InvalidType, 'weights.wq', undefined],
    ['toPerHead of null', () => toPerHead(cfg, null as never), MhaErrorCode.InvalidType, 'weights', null],
    ['a state_dict that is null', () => fromTorchStateDict('book-mha', cfg, null as never), MhaErrorCode.InvalidType, 'stateDict', null],
    ['an unknown layout', () => fromTorchStateDict('gpt3' as never, cfg, {}), MhaErrorCode.InvalidOption, 'layout', 'gpt3'],
  ])('%s -> MhaError with field and value', (_what, fn, code, field, value) => {
    const e = mhaErrorOf(fn);
    expect([e.code, e.field]).toEqual([code, field]);
    if (value !== undefined) expect(e.value).toEqual(value);
    expect(e.message).not.toContain('[object Object]');
  });
});

describe('fromTorchStateDict reads real state_dicts (issue 12 item 21)', () => {
  it("the stored fixtures are the module's real state_dict, mask buffers included", () => {
    expect(Object.keys(readFixture('book-mha-ch03').weights)).toContain('mask');
    expect(Object.keys(readFixture('book-wrapper-ch03').weights)).toContain('heads.1.mask');
  });
  it('ignores the registered causal-mask buffers, and only those', () => {
    const f = readFixture('book-wrapper-ch03');
    const cfg = resolveConfig(f.config as never);
    const w = fromTorchStateDict('book-wrapper', cfg, f.weights);
    const { 'heads.0.mask': _a, 'heads.1.mask': _b, ...params } = f.weights;
    expect(fromTorchStateDict('book-wrapper', cfg, params)).toEqual(w);
    const e = mhaErrorOf(() => fromTorchStateDict('book-wrapper', cfg, { ...f.weights, 'heads.7.mask': f.weights['heads.0.mask']! }));
    expect([e.code, e.field]).toEqual([MhaErrorCode.WeightShape, 'heads.7.mask']);
    // torch's nn.MultiheadAttention registers no buffer: a `mask` there is a mistake, not ignored.
    const torchCfg = resolveConfig({ dIn: 2, dOut: 2, heads: 1, qkvBias: true });
    const torchSd = { in_proj_weight: iota(12), in_proj_bias: iota(6), 'out_proj.weight': iota(4), 'out_proj.bias': iota(2) };
    expect(mhaErrorOf(() => fromTorchStateDict('torch-mha', torchCfg, { ...torchSd, mask: iota(4) })).field).toBe('mask');
  });
  it('an unexpected key prints its tensor, never [object Object]', () => {
    const m = readFixture('book-mha-ch03');
    const e = mhaErrorOf(() => fromTorchStateDict('book-mha', resolveConfig(m.config as never), { ...m.weights, stray: { data: iota(4), shape: [2, 2] } }));
    expect(e.field).toBe('stray');
    expect(e.message).toContain('{data: Float32Array(4), shape: [2, 2]}');
  });
  it('reads the attention out of a bigger model with { prefix }, and suggests the prefix when it is missing', () => {
    const cfg = resolveConfig({ dIn: 2, dOut: 2, heads: 1, qkvBias: true });
    const attn = { in_proj_weight: iota(12), in_proj_bias: iota(6), 'out_proj.weight': iota(4), 'out_proj.bias': iota(2) };
    const plain = fromTorchStateDict('torch-mha', cfg, attn);
    const nested = Object.fromEntries(Object.entries(attn).map(([k, v]) => [`transformer.h.0.attn.${k}`, v]));
    const model = { 'transformer.wte.weight': iota(10), ...nested, 'transformer.h.0.mlp.c_fc.weight': iota(8) };
    expect(fromTorchStateDict('torch-mha', cfg, model, { prefix: 'transformer.h.0.attn.' })).toEqual(plain);
    expect(fromTorchStateDict('torch-mha', cfg, model, { prefix: 'transformer.h.0.attn' })).toEqual(plain);
    const missing = mhaErrorOf(() => fromTorchStateDict('torch-mha', cfg, model));
    expect([missing.code, missing.field]).toEqual([MhaErrorCode.WeightShape, 'in_proj_weight']);
    expect(missing.message).toContain("pass { prefix: 'transformer.h.0.attn.' }");
    const shared = Object.fromEntries(Object.entries(attn).map(([k, v]) => [`attn.${k}`, v]));
    expect(mhaErrorOf(() => fromTorchStateDict('torch-mha', cfg, shared)).message).toContain("prefix: 'attn.'");
    expect(mhaErrorOf(() => fromTorchStateDict('book-mha', cfg, shared)).message).toContain("every key starts with 'attn.'");
    expect(mhaErrorOf(() => fromTorchStateDict('torch-mha', cfg, shared, { prefix: 'model.' })).message).toContain("no key starts with 'model.'");
    // Under the prefix, a key that does not belong to the layout is still refused, named in full.
    expect(mhaErrorOf(() => fromTorchStateDict('torch-mha', cfg, { ...shared, 'attn.extra': iota(1) }, { prefix: 'attn.' })).field).toBe('attn.extra');
    expect(mhaErrorOf(() => fromTorchStateDict('torch-mha', cfg, shared, { prefix: 3 as never }))).toMatchObject({ code: MhaErrorCode.InvalidType, field: 'options.prefix' });
  });
  it('reads own keys only: an inherited key is not a parameter', () => {
    const cfg = resolveConfig({ dIn: 2, dOut: 2, heads: 1, outProjBias: false });
    const sd = Object.assign(Object.create({ 'W_query.weight': iota(4) }) as object, { 'W_key.weight': iota(4), 'W_value.weight': iota(4), 'out_proj.weight': iota(4) });
    expect(mhaErrorOf(() => fromTorchStateDict('book-mha', cfg, sd as never)).field).toBe('W_query.weight');
  });
});
