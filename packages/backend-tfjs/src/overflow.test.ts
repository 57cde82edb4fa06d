// Float32 overflow on tfjs: scores beyond the float32 range must never come back as a finite wrong
// number. Either the result holds a NaN/Infinity somewhere (core then raises MHA_OVERFLOW for the whole
// call) or it equals the float64 reference. The dangerous case is a row whose every score overflows
// to -Infinity: it must not be mistaken for a row that the mask empties (which gives zeros).
import { initWeights, isMhaError, randomTensor, referenceAttention, referenceForward, resolveConfig, type AttentionMask, type AttentionOptions, type Tensor } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { VARIANTS, variantName } from './test-helpers.js';

function filled(shape: number[], value: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => value(i)), shape };
}

/** Passes when the call raised MHA_OVERFLOW, or its result has a non-finite element, or it matches `expected`. */
async function expectOverflowOrRight(call: () => Promise<Float32Array[]>, expected: ArrayLike<number>[], label: string): Promise<void> {
  let got: Float32Array[];
  try {
    got = await call();
  } catch (e) {
    if (isMhaError(e) && (e as { code: string }).code === 'MHA_OVERFLOW') return;
    throw e;
  }
  if (got.some((a) => a.some((v) => !Number.isFinite(v)))) return; // core rejects it (MHA_OVERFLOW)
  got.forEach((a, n) => {
    const want = expected[n]!;
    let m = 0;
    for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i]!));
    for (let i = 0; i < want.length; i++) {
      // The spec's float32 tolerance, atol scaled by max(1, M).
      if (!(Math.abs(a[i]! - want[i]!) <= 1e-5 * Math.max(1, m) + 1e-4 * Math.abs(want[i]!))) {
        expect.fail(`${label} result ${n}: element ${i} is a finite ${a[i]}, the float64 reference gives ${want[i]}`);
      }
    }
  });
}

const mask = (kind: 'bool' | 'additive'): AttentionMask =>
  kind === 'bool'
    ? { kind, data: Uint8Array.from({ length: 16 }, (_, i) => (i % 4 === 3 && i !== 15 ? 0 : 1)), shape: [4, 4] }
    : { kind, data: Float32Array.from({ length: 16 }, (_, i) => (i % 4 === 3 && i !== 15 ? -Infinity : i % 3 === 0 ? -2 : 0)), shape: [4, 4] };

describe.each(VARIANTS.map((b) => [variantName(b), b] as const))('%s: scores beyond float32 never give a finite wrong answer', (_, backend) => {
  // q . k = -4e40 for every pair: every score is -Infinity in float32, while the reference (float64)
  // sees equal finite scores, i.e. uniform weights.
  const q = filled([1, 2, 4, 4], () => 1e20);
  const k = filled([1, 2, 4, 4], () => -1e20);
  const v = randomTensor([1, 2, 4, 4], 3);
  const cases: [string, AttentionOptions][] = [
    ['no mask', {}],
    ['causal', { causal: true }],
    ['bool mask (no row emptied)', { mask: mask('bool') }],
    ['additive mask (no row emptied)', { mask: mask('additive') }],
    ['bool mask + causal', { mask: mask('bool'), causal: true }],
    ['softcap + additive mask', { mask: mask('additive'), softcap: 5 }],
  ];
  for (const [name, options] of cases) {
    it(`core op, every score below -FLOAT32_MAX, ${name}`, async () => {
      const ref = referenceAttention(q, k, v, { ...options, returnWeights: true });
      await expectOverflowOrRight(
        async () => {
          const r = await backend.attention(q, k, v, { ...options, returnWeights: true });
          return [r.output.data, r.weights!.data];
        },
        [ref.output.data, ref.weights!.data],
        name,
      );
    });
  }

  it('core op, scores mixed beyond +-FLOAT32_MAX with a mask', async () => {
    const qm = randomTensor([1, 2, 4, 4], 5);
    const km = randomTensor([1, 2, 4, 4], 6);
    const big = (t: Tensor) => ({ data: t.data.map((x) => x * 1e20), shape: t.shape });
    const options = { mask: mask('bool'), returnWeights: true };
    const ref = referenceAttention(big(qm), big(km), v, options);
    await expectOverflowOrRight(
      async () => {
        const r = await backend.attention(big(qm), big(km), v, options);
        return [r.output.data, r.weights!.data];
      },
      [ref.output.data, ref.weights!.data],
      'mixed',
    );
  });

  for (const s of [1e19, 1e20, 1e25]) {
    it(`module forward, x * ${s}, causal`, async () => {
      const cfg = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true, qkvBias: true });
      const w = initWeights(cfg, 1);
      const x0 = randomTensor([2, 5, 8], 2);
      const x = { data: x0.data.map((e) => e * s), shape: x0.shape };
      const ref = referenceForward(cfg, w, x);
      const m = await backend.createModule(cfg, w);
      try {
        await expectOverflowOrRight(
          async () => {
            const r = await m.forward(x, { returnAttentionWeights: true });
            return [r.output.data, r.attentionWeights!.data];
          },
          [ref.output.data, ref.attentionWeights.data],
          `x * ${s}`,
        );
      } finally {
        await m.dispose();
      }
    });
  }
});
