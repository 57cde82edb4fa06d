// The native projection of lowered module calls (createProjection): a GQA module with biases runs its four
// projections on tf.matMul (8 weight tensors: W and b each), matches the float64 reference and the one-key
// fallback, leaves no tensor behind per call and frees its weights with the module.
import { deriveBackend, initWeights, randomTensor, referenceForward, resolveConfig } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { VARIANTS, expectClose, variantName } from './test-helpers.js';

for (const backend of VARIANTS.filter((b) => b.tfjs.attentionLayout === 'batched')) {
  describe(`native projection on ${variantName(backend)}`, () => {
    it('GQA with biases: matches the reference and the fallback; 8 weight tensors while live, none after dispose', async () => {
      const cfg = resolveConfig({ dIn: 12, heads: 4, headDim: 3, kvHeads: 2, causal: true, qkvBias: true });
      const w = initWeights(cfg, 3);
      const x = randomTensor([2, 5, 12], 4);
      const fallback = deriveBackend(backend, { name: `${backend.name}-one-key`, createProjection: undefined });
      const f = await fallback.createModule(cfg, w);
      const want = (await f.forward(x)).output.data;
      await f.dispose();
      const baseline = tf.memory().numTensors;
      const m = await backend.createModule(cfg, w);
      const r = await m.forward(x);
      expect(tf.memory().numTensors).toBe(baseline + 8);
      await m.forward(x);
      expect(tf.memory().numTensors).toBe(baseline + 8);
      expectClose(r.output.data, referenceForward(cfg, w, x).output.data, 'output vs reference');
      expectClose(r.output.data, want, 'output vs the one-key fallback');
      await m.dispose();
      expect(tf.memory().numTensors).toBe(baseline);
    });
  });
}
