import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { fromTorchStateDict, type TorchLayout } from '../convert.js';
import { randomTensor } from '../init.js';
import { fixtureIds, readFixture } from '../test-fixtures.js';
import { expectedTrace } from '../trace.js';
import { referenceAttention, referenceForward } from './forward.js';
import { softmaxInPlace } from './softmax.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('float64 reference vs the PyTorch golden fixtures', () => {
  for (const id of fixtureIds()) {
    it(id, () => {
      const f = readFixture(id);
      const scale = Math.max(1, ...Array.from(f.expected.output.data, Math.abs));
      if (f.kind === 'module') {
        const cfg = resolveConfig(f.config as never);
        const w = fromTorchStateDict(f.weightLayout as TorchLayout, cfg, f.weights);
        const r = referenceForward(cfg, w, f.inputs.x!);
        expect(r.output.shape).toEqual(f.expected.output.shape);
        // torch computes in float32; the float64 reference sits within float32 rounding of it.
        expect(maxAbsDiff(r.output.data, f.expected.output.data)).toBeLessThan(2e-6 * scale);
        if (f.expected.attentionWeights) expect(maxAbsDiff(r.attentionWeights.data, f.expected.attentionWeights.data)).toBeLessThan(2e-6);
      } else {
        const r = referenceAttention(f.inputs.q!, f.inputs.k!, f.inputs.v!, f.options);
        expect(maxAbsDiff(r.output.data, f.expected.output.data)).toBeLessThan(2e-6 * scale);
        if (f.expected.attentionWeights) expect(maxAbsDiff(r.weights.data, f.expected.attentionWeights.data)).toBeLessThan(2e-6);
      }
    });
  }

  it("reproduces the book's printed first rows", () => {
    for (const [id, printed] of [
      ['book-wrapper-ch03', [-0.4519, 0.2216, 0.4772, 0.1063]],
      ['book-mha-ch03', [0.319, 0.4858]],
    ] as const) {
      const f = readFixture(id);
      const cfg = resolveConfig(f.config as never);
      const out = referenceForward(cfg, fromTorchStateDict(f.weightLayout as TorchLayout, cfg, f.weights), f.inputs.x!).output.data;
      expect(Array.from(out.subarray(0, printed.length), (v) => Math.round(v * 1e4) / 1e4)).toEqual(printed);
      expect(Array.from(f.expected.output.data.subarray(0, printed.length), (v) => Math.round(v * 1e4) / 1e4)).toEqual(printed);
    }
  });
});

describe('softmax', () => {
  it('stays finite for logits of +-1e4 and matches the analytic two-value case (to the 1e-12 the shifted logit keeps)', () => {
    const row = Float64Array.from([1e4, 1e4 - Math.log(3), -1e4]);
    softmaxInPlace(row, 0, 3);
    expect(row[0]).toBeCloseTo(0.75, 12);
    expect(row[1]).toBeCloseTo(0.25, 12);
    expect(row[2]).toBe(0);
  });
  it('turns a fully masked row into zeros, not NaN', () => {
    const row = Float64Array.from([-Infinity, -Infinity]);
    softmaxInPlace(row, 0, 2);
    expect(Array.from(row)).toEqual([0, 0]);
  });
});

describe('reference core op', () => {
  it('grouped-query equals repeating each KV head for its query group', () => {
    const q = randomTensor([1, 4, 3, 2], 1);
    const k = randomTensor([1, 2, 3, 2], 2);
    const v = randomTensor([1, 2, 3, 2], 3);
    const repeat = (t: { data: Float32Array }) => {
      const out = new Float32Array(4 * 6);
      for (let h = 0; h < 4; h++) out.set(t.data.subarray(Math.floor(h / 2) * 6, Math.floor(h / 2) * 6 + 6), h * 6);
      return { data: out, shape: [1, 4, 3, 2] };
    };
    const gqa = referenceAttention(q, k, v, { causal: true });
    const full = referenceAttention(q, repeat(k), repeat(v), { causal: true });
    expect(Array.from(gqa.output.data)).toEqual(Array.from(full.output.data));
  });
  it('adds an additive mask in float32: a row of -1e9 over small scores gives uniform weights, as float32 torch does', () => {
    // float32 torch 1.13 gives uniform weights for rows of -1e9 and of -3.4e38 over scores of this size
    // (fixtures/generate.py asserts it: check_masks_in_float32); a float64 sum would keep row 1's scores.
    const lowest = -3.4028234663852886e38;
    const q = randomTensor([1, 1, 3, 4], 7);
    const k = randomTensor([1, 1, 5, 4], 8);
    const data = new Float32Array(15);
    data[2] = lowest;
    data.fill(-1e9, 5, 10);
    data.fill(lowest, 10, 15);
    const r = referenceAttention(q, k, randomTensor([1, 1, 5, 2], 9), { mask: { kind: 'additive', data, shape: [3, 5] } });
    expect(Array.from(r.weights.data.subarray(5))).toEqual(new Array<number>(10).fill(0.2));
    expect(r.weights.data[2]).toBe(0);
    const plain = referenceAttention(q, k, randomTensor([1, 1, 5, 2], 9)).weights.data;
    expect(plain[5]).not.toBeCloseTo(0.2, 3);
  });
  it('a bool mask row of all zeros gives a zero output row', () => {
    const q = randomTensor([1, 1, 2, 2], 1);
    const r = referenceAttention(q, q, randomTensor([1, 1, 2, 2], 2), { mask: { kind: 'bool', data: Uint8Array.from([1, 1, 0, 0]), shape: [2, 2] } });
    expect(Array.from(r.output.data.subarray(2))).toEqual([0, 0]);
    expect(Array.from(r.weights.data.subarray(2))).toEqual([0, 0]);
  });
});

describe('shape trace', () => {
  it("matches seed 004's printed shapes for B=2, T=4, d_model=6, 3 heads", () => {
    const cfg = resolveConfig({ dIn: 6, dOut: 6, heads: 3 });
    const trace = referenceForward(cfg, { wq: new Float32Array(36), wk: new Float32Array(36), wv: new Float32Array(36), wo: new Float32Array(36), bo: new Float32Array(6) }, randomTensor([2, 4, 6], 1)).trace;
    expect(trace).toEqual(expectedTrace(cfg, 2, 4));
    expect(Object.fromEntries(trace.map((e) => [e.step, e.shape]))).toEqual({
      input: [2, 4, 6],
      qkv: [2, 4, 3, 3, 2],
      q: [2, 3, 4, 2],
      k: [2, 3, 4, 2],
      v: [2, 3, 4, 2],
      scores: [2, 3, 4, 4],
      weights: [2, 3, 4, 4],
      context: [2, 3, 4, 2],
      merged: [2, 4, 6],
      output: [2, 4, 6],
    });
  });
});
