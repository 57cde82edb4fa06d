// The ort-web row computes the module (so its timings are of the right computation): output against
// core's float64 reference at the spec's float32 tolerance, and the core op refused with a typed error.
import { initWeights, isMhaError, randomTensor, referenceForward, resolveConfig } from '@mha/core';
import { expect, it } from 'vitest';
import { ortWeb } from './ort-web.js';

it('ort-web module forward matches the float64 reference', async () => {
  const config = resolveConfig({ dIn: 24, dOut: 24, heads: 3, causal: true, qkvBias: true });
  const weights = initWeights(config, 1);
  const x = randomTensor([2, 9, 24], 2);
  const m = await ortWeb.createModule(config, weights);
  const { output } = await m.forward(x);
  await m.dispose();
  const ref = referenceForward(config, weights, x).output.data;
  let max = 0;
  for (const v of ref) max = Math.max(max, Math.abs(v));
  ref.forEach((e, i) => expect(Math.abs(output.data[i]! - e)).toBeLessThanOrEqual(1e-5 * Math.max(1, max) + 1e-4 * Math.abs(e)));
});

it('ort-web refuses the core op with MHA_UNSUPPORTED', async () => {
  const q = randomTensor([1, 1, 2, 4], 1);
  await expect(ortWeb.attention(q, q, q)).rejects.toSatisfy((e: unknown) => isMhaError(e, 'MHA_UNSUPPORTED'));
});
