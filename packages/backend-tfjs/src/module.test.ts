import { expectedTrace, initWeights, randomTensor, referenceForward, resolveConfig, type MhaConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { expectClose, goldenIds, goldenModule, VARIANTS, variantName } from './test-helpers.js';

/** Configs covering every optional part, odd sizes, a custom scale and headDim 1. */
const CONFIGS: readonly MhaConfig[] = [
  { dIn: 12, heads: 3, headDim: 4, causal: true },
  { dIn: 12, heads: 3, headDim: 4, causal: false, qkvBias: true },
  { dIn: 7, heads: 3, headDim: 5, causal: true, qkvBias: true, outProjBias: false },
  { dIn: 6, heads: 2, headDim: 3, causal: true, outProj: false },
  { dIn: 9, heads: 4, headDim: 1, causal: false, scale: 0.37 },
  { dIn: 64, heads: 4, headDim: 16, causal: true, qkvBias: true },
];

const SHAPES: readonly (readonly [number, number])[] = [
  [1, 1],
  [2, 5],
  [3, 9],
];

for (const backend of VARIANTS) {
  describe(`module forward on ${variantName(backend)}`, () => {
    describe('vs the PyTorch golden fixtures', () => {
      for (const id of goldenIds('module')) {
        it(id, async () => {
          const f = goldenModule(id);
          const m = await backend.createModule(f.config, f.weights);
          const r = await m.forward(f.x, { returnAttentionWeights: true });
          expect(r.output.shape).toEqual(f.output.shape);
          expect(r.attentionWeights?.shape).toEqual(f.attentionWeights.shape);
          expectClose(r.output.data, f.output.data, `${id} output`);
          expectClose(r.attentionWeights!.data, f.attentionWeights.data, `${id} attention weights`);
          await m.dispose();
        });
      }
    });

    describe('vs the float64 reference', () => {
      CONFIGS.forEach((c, ci) => {
        it(`config ${ci} ${JSON.stringify(c)}`, async () => {
          const cfg = resolveConfig(c);
          const weights = initWeights(cfg, 10 + ci);
          const m = await backend.createModule(cfg, weights);
          for (const [B, T] of SHAPES) {
            const x = randomTensor([B, T, cfg.dIn], 100 * ci + T);
            const ref = referenceForward(cfg, weights, x);
            const r = await m.forward(x, { returnAttentionWeights: true, trace: true });
            expectClose(r.output.data, ref.output.data, `B${B} T${T} output`);
            expectClose(r.attentionWeights!.data, ref.attentionWeights.data, `B${B} T${T} attention weights`);
            expect(r.trace).toEqual(expectedTrace(cfg, B, T));
          }
          await m.dispose();
        });
      });
    });

    it('returns weights and trace only when asked, and leaves the caller buffer untouched', async () => {
      const cfg = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true });
      const m = await backend.createModule(cfg, initWeights(cfg, 1));
      const x = randomTensor([2, 6, 8], 2);
      const before = x.data.slice();
      const r = await m.forward(x);
      expect(r.attentionWeights).toBeUndefined();
      expect(r.trace).toBeUndefined();
      expect(r.output.shape).toEqual([2, 6, 8]);
      expect(x.data).toEqual(before);
      await m.dispose();
    });

    it('causal rows put exactly zero weight on future keys, also for lengths beyond the causal-bias cache', async () => {
      const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, causal: true });
      const weights = initWeights(cfg, 3);
      const m = await backend.createModule(cfg, weights);
      // Six lengths cycle through a cache of four, so entries are evicted and rebuilt.
      for (const T of [2, 3, 4, 5, 6, 7, 2, 7]) {
        const x = randomTensor([1, T, 4], T);
        const r = await m.forward(x, { returnAttentionWeights: true });
        const w = r.attentionWeights!.data;
        for (let h = 0; h < 2; h++) for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) expect(w[(h * T + i) * T + j]).toBe(0);
        expectClose(r.output.data, referenceForward(cfg, weights, x).output.data, `T${T}`);
      }
      await m.dispose();
    });
  });
}
