// The @mha/onnx README example "Module features and decoder steps", run as written (keep the two in sync),
// then checked: the decoded rows equal the whole-sequence output and core's float64 reference.
import { initWeights, randomTensor, referenceForward, resolveConfig } from '@mha/core';
import { exportOnnx } from '@mha/onnx';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { expectClose } from './test-helpers.js';

describe('@mha/onnx README: a GQA module and its decoder step', () => {
  it('runs as written; each decoded row equals the whole-sequence output', async () => {
    // 8 query heads share 2 KV heads (GQA), causal, no biases. Real weights: fromTorchStateDict(sd, config, { layout: 'llama' }).
    const config = resolveConfig({ dIn: 64, heads: 8, kvHeads: 2, headDim: 8, causal: true, outProjBias: false });
    const weights = initWeights(config, 1);
    const x = randomTensor([1, 6, 64], 2);

    // Whole sequences, with a key-padding mask (bool: true = a real token).
    const full = await InferenceSession.create(exportOnnx(config, weights, { flavour: 'attention-op', keyPaddingMask: 'bool' }));
    const { output } = await full.run({
      x: new Tensor('float32', x.data, [1, 6, 64]),
      key_padding_mask: new Tensor('bool', new Uint8Array([1, 1, 1, 1, 1, 1]), [1, 6]),
    });

    // One token at a time: present_key/present_value come back as the next step's past_key/past_value.
    const step = await InferenceSession.create(exportOnnx(config, weights, { flavour: 'attention-op', past: true }));
    const empty = (): Tensor => new Tensor('float32', new Float32Array(0), [1, 2, 0, 8]); // [batch, kvHeads, 0, headDim]
    let past = { past_key: empty(), past_value: empty() };
    const rows: Float32Array[] = []; // (test only)
    for (let t = 0; t < 6; t++) {
      const r = await step.run({ x: new Tensor('float32', x.data.slice(t * 64, (t + 1) * 64), [1, 1, 64]), ...past });
      // r.output [1, 1, 64] is row t of the whole-sequence output
      rows.push(r.output!.data as Float32Array); // (test only)
      past = { past_key: r.present_key!, past_value: r.present_value! };
    }
    expect([output!.dims, past.past_key.dims]).toEqual([[1, 6, 64], [1, 2, 6, 8]]);

    const ref = referenceForward(config, weights, x);
    expectClose(output!.data as Float32Array, ref.output.data, 'whole-sequence output');
    const decoded = new Float32Array(6 * 64);
    rows.forEach((r, t) => decoded.set(r, t * 64));
    expectClose(decoded, ref.output.data, 'decoded rows');
    expectClose(past.past_key.data as Float32Array, ref.intermediates.k, 'present_key after 6 steps');
    await full.release();
    await step.release();
  });
});
