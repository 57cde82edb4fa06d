// Float32 overflow: scores beyond the float32 range never come back as a finite wrong number. Either the
// result holds a NaN/Infinity (core then raises MHA_OVERFLOW for the call) or it matches the float64
// reference. The dangerous case is a row whose every score overflows to -Infinity: it must not be
// mistaken for a row the mask empties (which gives zeros).
import { isMhaError, referenceAttention, type AttentionMask, type AttentionOptions, type Tensor } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from './index.js';
import { expectClose } from './test-support/compare.js';

const backend = createWasmBackend({ simd: 'simd' });
const filled = (shape: number[], value: (i: number) => number): Tensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(i)) });

async function expectOverflowOrRight(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions, label: string): Promise<'overflow' | 'right'> {
  const ref = referenceAttention(q, k, v, options);
  let r;
  try {
    r = await backend.attention(q, k, v, { ...options, returnWeights: true });
  } catch (e) {
    // MHA_OVERFLOW: core's check of kernel results (by name, so this compiles before that code exists).
    if (isMhaError(e) && (e as { code: string }).code === 'MHA_OVERFLOW') return 'overflow';
    throw e;
  }
  if (!r.output.data.every(Number.isFinite) || !r.weights!.data.every(Number.isFinite)) return 'overflow';
  expectClose(r.output.data, ref.output.data, `${label} output`);
  expectClose(r.weights!.data, ref.weights.data, `${label} weights`, false);
  return 'right';
}

describe('float32 overflow', () => {
  const v = filled([1, 1, 3, 2], (i) => i + 1);
  it('a row whose scores all overflow to -Infinity is not taken for a masked row', async () => {
    const q = filled([1, 1, 2, 4], () => 1e30);
    const k = filled([1, 1, 3, 4], (i) => -1e30 * (1 + (i % 3)));
    // Zeros would be a finite wrong answer here (the reference gives weights of about 1 on the first key).
    expect(await expectOverflowOrRight(q, k, v, {}, 'all -inf')).toBe('overflow');
  });

  it('a score overflowing to +Infinity', async () => {
    const q = filled([1, 1, 2, 4], () => 1e30);
    const k = filled([1, 1, 3, 4], () => 1e30);
    expect(await expectOverflowOrRight(q, k, v, { causal: true }, '+inf')).toBe('overflow');
  });

  it('a key the mask removes may overflow: the row is still computed', async () => {
    const q = filled([1, 1, 1, 2], () => 1);
    const k = filled([1, 1, 3, 2], (i) => (i < 4 ? 3e38 : 0.5));
    const mask: AttentionMask = { kind: 'bool', shape: [1, 3], data: Uint8Array.from([0, 1, 1]) };
    // Key 0 overflows (2 * 3e38 * scale) but is masked; keys 1 (also overflowing) and 2 remain.
    const keep: AttentionMask = { kind: 'bool', shape: [1, 3], data: Uint8Array.from([0, 0, 1]) };
    expect(await expectOverflowOrRight(q, k, v, { mask }, 'masked overflow')).toBe('overflow');
    expect(await expectOverflowOrRight(q, k, v, { mask: keep }, 'masked overflow only')).toBe('right');
  });

  it('soft-capping bounds an overflowing score as in float64', async () => {
    const q = filled([1, 1, 2, 4], () => 1e30);
    const k = filled([1, 1, 3, 4], (i) => (Math.floor(i / 4) % 2 ? 1e30 : -1e30));
    expect(await expectOverflowOrRight(q, k, v, { softcap: 5 }, 'softcap')).toBe('right');
  });

  it('a finite mask value whose float32 add overflows weighs 0, like the reference', async () => {
    const q = filled([1, 1, 1, 2], () => -1);
    const k = filled([1, 1, 3, 2], () => 1e38);
    const mask: AttentionMask = { kind: 'additive', shape: [1, 3], data: Float32Array.from([-3.4e38, 0, 0]) };
    // Scores are about -1.4e38; key 0's sum is below -3.4e38 and rounds to -Infinity in float32.
    expect(await expectOverflowOrRight(q, k, v, { mask }, 'mask add overflow')).toBe('right');
  });
});
