// The kernels against core's float64 reference, on sizes chosen to cross every tile edge of the
// micro-kernel (4 rows x 8 columns): 1, primes, multiples and multiples plus one.
import { initWeights, randomTensor, referenceAttention, referenceForward, resolveConfig, type AttentionMask, type AttentionOptions, type MhaConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from './index.js';
import { expectClose } from './test-support/compare.js';

const backends = [createWasmBackend({ simd: 'simd' })];

let seed = 1;
for (const backend of backends) {
  describe(`${backend.simd} build`, () => {
    describe('module forward vs referenceForward', () => {
      const configs: [string, MhaConfig, number, number][] = [
        ['tiny', { dIn: 1, heads: 1, headDim: 1 }, 1, 1],
        ['book wrapper', { dIn: 3, heads: 2, headDim: 2, causal: true, outProj: false }, 2, 6],
        ['book mha, qkv bias', { dIn: 7, dOut: 12, heads: 3, causal: true, qkvBias: true }, 2, 13],
        ['edges', { dIn: 17, dOut: 20, heads: 4, qkvBias: true }, 3, 9],
        ['no out bias', { dIn: 16, dOut: 16, heads: 2, outProjBias: false }, 1, 33],
        ['wide', { dIn: 64, dOut: 96, heads: 6, causal: true, qkvBias: true }, 2, 37],
        ['scale', { dIn: 8, dOut: 8, heads: 2, scale: 0.3, causal: true }, 1, 5],
      ];
      for (const [name, c, B, T] of configs) {
        it(`${name}: B${B} T${T}`, async () => {
          const config = resolveConfig(c);
          const weights = initWeights(config, (seed += 7));
          const x = randomTensor([B, T, config.dIn], seed + 1);
          const ref = referenceForward(config, weights, x);
          const m = await backend.createModule(config, weights);
          const r = await m.forward(x, { returnAttentionWeights: true, trace: true });
          expectClose(r.output.data, ref.output.data, `${name} output`);
          expectClose(r.attentionWeights!.data, ref.attentionWeights.data, `${name} weights`, false);
          // Without weights the online-softmax kernel runs: same oracle, not the same bits.
          const plain = await m.forward(x);
          expectClose(plain.output.data, ref.output.data, `${name} output without weights`);
          await m.dispose();
        });
      }
    });

    describe('core op vs referenceAttention', () => {
      const bool = (shape: number[], bit: (i: number) => boolean): AttentionMask => ({ kind: 'bool', shape, data: Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (bit(i) ? 1 : 0)) });
      const additive = (shape: number[], v: (i: number) => number): AttentionMask => ({ kind: 'additive', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => v(i)) });
      const cases: [string, number[], number[], number[], AttentionOptions][] = [
        ['self causal T17 d9', [2, 3, 17, 9], [2, 3, 17, 9], [2, 3, 17, 9], { causal: true }],
        ['self T1', [1, 1, 1, 4], [1, 1, 1, 4], [1, 1, 1, 4], {}],
        ['cross Tq5 Tk11 causal (top-left)', [1, 2, 5, 8], [1, 2, 11, 8], [1, 2, 11, 8], { causal: true }],
        ['cross Tq13 Tk3 causal', [1, 1, 13, 4], [1, 1, 3, 4], [1, 1, 3, 4], { causal: true }],
        ['gqa 6/2, dv 5 != dk 7', [2, 6, 9, 7], [2, 2, 9, 7], [2, 2, 9, 5], { causal: true }],
        ['softcap', [1, 2, 10, 8], [1, 2, 10, 8], [1, 2, 10, 8], { softcap: 0.7, scale: 3 }],
        ['bool mask [Tq,Tk] with an empty row', [2, 2, 6, 4], [2, 2, 7, 4], [2, 2, 7, 4], { mask: bool([6, 7], (i) => i >= 7 && (i * 7) % 3 !== 0) }],
        ['additive mask [B,1,Tq,Tk] with -inf', [2, 3, 5, 4], [2, 3, 5, 4], [2, 3, 5, 4], { causal: true, mask: additive([2, 1, 5, 5], (i) => (i % 4 === 0 ? -Infinity : (i % 5) - 2)) }],
        ['mask [Tk] broadcast, softcap, gqa, causal', [1, 4, 9, 3], [1, 2, 9, 3], [1, 2, 9, 6], { causal: true, softcap: 2, mask: bool([1, 9], (i) => i !== 2) }],
        ['large logits (1e3 inputs)', [1, 2, 9, 8], [1, 2, 9, 8], [1, 2, 9, 8], { causal: true }],
        ['scale 0', [1, 1, 5, 3], [1, 1, 5, 3], [1, 1, 5, 3], { scale: 0 }],
        ['negative scale', [1, 1, 6, 3], [1, 1, 6, 3], [1, 1, 6, 3], { scale: -0.8 }],
      ];
      it('additive mask: a row of -1e9 gives uniform weights (the add is float32, SPEC.md)', async () => {
        const q = randomTensor([1, 1, 3, 4], (seed += 5));
        const k = randomTensor([1, 1, 6, 4], seed + 1);
        const v = randomTensor([1, 1, 6, 4], seed + 2);
        const mask = additive([3, 6], (i) => (i < 6 ? -1e9 : 0.5));
        const r = await backend.attention(q, k, v, { mask, returnWeights: true });
        for (let j = 0; j < 6; j++) expect(r.weights!.data[j]).toBeCloseTo(1 / 6, 6);
        for (let c = 0; c < 4; c++) {
          let mean = 0;
          for (let j = 0; j < 6; j++) mean += v.data[j * 4 + c]! / 6;
          expect(r.output.data[c]).toBeCloseTo(mean, 5);
        }
      });
      for (const [name, qs, ks, vs, options] of cases) {
        it(name, async () => {
          const mag = name.startsWith('large') ? 1e3 : 1;
          const q = randomTensor(qs, (seed += 5), mag);
          const k = randomTensor(ks, seed + 1, mag);
          const v = randomTensor(vs, seed + 2);
          const ref = referenceAttention(q, k, v, options);
          const r = await backend.attention(q, k, v, { ...options, returnWeights: true });
          expectClose(r.output.data, ref.output.data, `${name} output`);
          expectClose(r.weights!.data, ref.weights.data, `${name} weights`, false);
          const plain = await backend.attention(q, k, v, options);
          expectClose(plain.output.data, ref.output.data, `${name} output without weights`);
        });
      }
    });
  });
}
