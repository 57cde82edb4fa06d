import { deriveBackend, randomTensor, referenceAttention, seededRandom, type AttentionMask, type AttentionOptions } from '@mha/core';
import { InferenceSession } from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOrtBackend, ortAttentionOp, ortDecomposed } from './index.js';
import { attentionCase, expectClose, fixtureIds } from './test-helpers.js';

// onnxruntime types InferenceSession as a factory; at runtime it is the class whose instances create() returns.
const sessionPrototype = (InferenceSession as unknown as { prototype: InferenceSession }).prototype;

afterEach(() => vi.restoreAllMocks());

function boolMask(shape: number[], seed: number, density = 0.6): AttentionMask {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { kind: 'bool', data: Uint8Array.from({ length: n }, () => (rand() < density ? 1 : 0)), shape };
}

function additiveMask(shape: number[], seed: number): AttentionMask {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  // Mostly finite biases, some -Infinity (masked keys).
  return { kind: 'additive', data: Float32Array.from({ length: n }, () => (rand() < 0.2 ? -Infinity : rand() * 4 - 2)), shape };
}

const CASES: { name: string; q: number[]; k: number[]; v: number[]; options: AttentionOptions }[] = [
  { name: 'self, default scale', q: [2, 3, 5, 4], k: [2, 3, 5, 4], v: [2, 3, 5, 4], options: {} },
  { name: 'self causal, explicit scale', q: [1, 2, 6, 8], k: [1, 2, 6, 8], v: [1, 2, 6, 8], options: { causal: true, scale: 0.05 } },
  { name: 'cross causal, more queries than keys (top-left)', q: [2, 2, 7, 4], k: [2, 2, 3, 4], v: [2, 2, 3, 4], options: { causal: true } },
  { name: 'cross causal, fewer queries than keys (top-left)', q: [1, 2, 3, 4], k: [1, 2, 8, 4], v: [1, 2, 8, 4], options: { causal: true } },
  { name: 'grouped-query 6/2, causal', q: [2, 6, 5, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], options: { causal: true } },
  { name: 'multi-query 4/1', q: [1, 4, 3, 4], k: [1, 1, 6, 4], v: [1, 1, 6, 4], options: {} },
  { name: 'value head size 7 != 4', q: [1, 2, 4, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 7], options: { causal: true } },
  { name: 'softcap 1.5 on large scores', q: [1, 2, 4, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 4], options: { softcap: 1.5, scale: 3 } },
  { name: 'bool mask [Tq, Tk]', q: [2, 2, 4, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], options: { mask: boolMask([4, 6], 1) } },
  { name: 'bool mask [Hq, Tq, Tk] + causal', q: [2, 3, 5, 4], k: [2, 3, 5, 4], v: [2, 3, 5, 4], options: { causal: true, mask: boolMask([3, 5, 5], 2) } },
  { name: 'bool key-padding mask [B, 1, 1, Tk]', q: [2, 2, 4, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], options: { mask: boolMask([2, 1, 1, 6], 3) } },
  { name: 'bool mask [Tq, 1] broadcast over keys (hides whole rows)', q: [1, 2, 4, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 4], options: { mask: { kind: 'bool', data: Uint8Array.from([1, 0, 1, 1]), shape: [4, 1] } } },
  { name: 'additive mask [1, Tk] broadcast over queries', q: [2, 2, 3, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], options: { causal: true, mask: additiveMask([1, 5], 6) } },
  { name: 'bool mask with fully masked rows', q: [1, 1, 3, 4], k: [1, 1, 3, 4], v: [1, 1, 3, 4], options: { mask: { kind: 'bool', data: Uint8Array.from([1, 0, 1, 0, 0, 0, 1, 1, 1]), shape: [3, 3] } } },
  { name: 'additive mask [B, 1, Tq, Tk] with -inf, causal', q: [2, 2, 5, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], options: { causal: true, mask: additiveMask([2, 1, 5, 5], 4) } },
  { name: 'additive mask whose row is all -inf', q: [1, 2, 2, 4], k: [1, 2, 2, 4], v: [1, 2, 2, 4], options: { mask: { kind: 'additive', data: Float32Array.from([-Infinity, -Infinity, 0.5, 0]), shape: [2, 2] } } },
  {
    name: 'everything: GQA, cross, dv, causal, softcap, bool mask [B, Hq, Tq, Tk]',
    q: [2, 4, 3, 4],
    k: [2, 2, 5, 4],
    v: [2, 2, 5, 6],
    options: { causal: true, softcap: 2, scale: 0.7, mask: boolMask([2, 4, 3, 5], 5, 0.5) },
  },
];

describe.each([ortAttentionOp, ortDecomposed])('$name core op', (backend) => {
  describe('golden PyTorch fixtures', () => {
    for (const id of fixtureIds('attention')) {
      it(id, async () => {
        const f = attentionCase(id);
        const r = await backend.attention(f.q, f.k, f.v, { ...f.options, returnWeights: true });
        expectClose(r.output.data, f.expected.output.data, 'output');
        expectClose(r.weights!.data, f.expected.attentionWeights.data, 'weights');
      });
    }
  });

  describe('against the float64 reference', () => {
    CASES.forEach((c, i) => {
      it(c.name, async () => {
        const q = randomTensor(c.q, 10 * i + 1);
        const k = randomTensor(c.k, 10 * i + 2);
        const v = randomTensor(c.v, 10 * i + 3);
        const ref = referenceAttention(q, k, v, c.options);
        const r = await backend.attention(q, k, v, { ...c.options, returnWeights: true });
        expect(r.output.shape).toEqual(ref.output.shape);
        expectClose(r.output.data, ref.output.data, 'output');
        expectClose(r.weights!.data, ref.weights.data, 'weights');
        const plain = await backend.attention(q, k, v, c.options);
        expectClose(plain.output.data, ref.output.data, 'output without weights');
        expect(plain.weights).toBeUndefined();
      });
    });
  });

  it('gives exact zeros, not NaN, for a fully masked row', async () => {
    const q = randomTensor([1, 1, 2, 4], 1);
    const r = await backend.attention(q, q, randomTensor([1, 1, 2, 4], 2), { mask: { kind: 'bool', data: Uint8Array.from([0, 0, 1, 1]), shape: [2, 2] }, returnWeights: true });
    expect(Array.from(r.output.data.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(r.weights!.data.subarray(0, 2))).toEqual([0, 0]);
  });
});

describe('core-op sessions', () => {
  it('one cached session serves every shape with the same options (default scale included)', async () => {
    const backend = createOrtBackend({ flavour: 'decomposed' });
    const create = vi.spyOn(InferenceSession, 'create');
    for (const [b, h, t, d] of [[1, 2, 3, 4], [2, 1, 5, 8], [3, 4, 2, 2]] as const) {
      const q = randomTensor([b, h, t, d], 1);
      const r = await backend.attention(q, q, q, { causal: true });
      expectClose(r.output.data, referenceAttention(q, q, q, { causal: true }).output.data, `[${b},${h},${t},${d}]`);
    }
    expect(create).toHaveBeenCalledTimes(1);
    const q = randomTensor([1, 1, 2, 4], 2);
    await backend.attention(q, q, q, { causal: false });
    await backend.attention(q, q, q, { causal: true, returnWeights: true });
    expect(create).toHaveBeenCalledTimes(3);
    await backend.dispose();
  });

  it('backend.dispose() releases the cached sessions and the backend stays usable', async () => {
    const backend = createOrtBackend({ flavour: 'attention-op' });
    const release = vi.spyOn(sessionPrototype, 'release');
    const q = randomTensor([1, 2, 3, 4], 3);
    await backend.attention(q, q, q, {});
    await backend.attention(q, q, q, { causal: true });
    await backend.dispose();
    expect(release).toHaveBeenCalledTimes(2);
    const r = await backend.attention(q, q, q, {});
    expectClose(r.output.data, referenceAttention(q, q, q, {}).output.data, 'after dispose');
    await backend.dispose();
  });

  it('a backend derived with deriveBackend keeps dispose: its cached sessions are released (diagnostics back to baseline)', async () => {
    const base = createOrtBackend({ flavour: 'decomposed' });
    const derived = deriveBackend(base, { name: 'ort-derived' });
    const baseline = derived.diagnostics();
    const q = randomTensor([1, 2, 3, 4], 5);
    await derived.attention(q, q, q, {});
    await derived.attention(q, q, q, { causal: true });
    expect(derived.diagnostics().sessions).toBe(baseline.sessions! + 2);
    await Promise.all([derived.dispose(), derived.dispose()]);
    expect(derived.diagnostics()).toEqual(baseline);
  });

  it('evicts the least recently used session beyond 16 option sets, releasing it', async () => {
    const backend = createOrtBackend({ flavour: 'decomposed' });
    const release = vi.spyOn(sessionPrototype, 'release');
    const q = randomTensor([1, 1, 2, 2], 4);
    for (let i = 1; i <= 17; i++) await backend.attention(q, q, q, { scale: i / 10 });
    expect(release).toHaveBeenCalledTimes(1);
    await backend.dispose();
  });
});
