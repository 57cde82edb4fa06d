// The README / SPEC "Module features" example, run as written (keep the three in sync).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectLayouts, fromTorchKeyPaddingMask, fromTorchStateDict, initWeights, randomTensor, readSafetensors, referenceForward, resolveConfig } from '@mha/core';
import { tsBackend } from './index.js';

describe('module features example (README)', () => {
  it('cross-attention with kdim/vdim and a torch key_padding_mask; a Llama layer from .safetensors', async () => {
    // Encoder-decoder cross-attention: queries of width 8, memory keys of width 5 and values of width 3.
    const cross = resolveConfig({ dIn: 8, heads: 2, headDim: 4, kdim: 5, vdim: 3, qkvBias: true });
    const m = await tsBackend.createModule(cross, initWeights(cross, 1));
    const { output, weights } = await m.forward(randomTensor([2, 4, 8], 2), {
      key: randomTensor([2, 6, 5], 3),
      value: randomTensor([2, 6, 3], 4),
      // PyTorch polarity (true = padding) converted to SPEC polarity (1 = attend):
      keyPaddingMask: fromTorchKeyPaddingMask([
        [false, false, false, false, false, true],
        [false, false, false, false, true, true],
      ]),
      returnWeights: true,
      averageWeights: true,
    });
    expect(output.shape).toEqual([2, 4, 8]);
    expect(weights!.shape).toEqual([2, 4, 6]);
    expect(weights!.data[4 * 6 + 4]).toBe(0); // batch 1, query 0, padded key 4
    await m.dispose();

    // A Llama-style layer (4 query heads over 2 KV heads) from a .safetensors file.
    const { tensors } = readSafetensors(readFileSync(new URL('../../../fixtures/checkpoints/llama-tiny.safetensors', import.meta.url)));
    expect(detectLayouts(tensors)).toEqual([{ layout: 'llama', prefix: 'model.layers.0.self_attn.' }]);
    const llama = resolveConfig({ dIn: 8, heads: 4, headDim: 2, kvHeads: 2, causal: true, outProjBias: false });
    const w = fromTorchStateDict('llama', llama, tensors, { prefix: 'model.layers.0.self_attn.' });
    const layer = await tsBackend.createModule(llama, w);
    const x = randomTensor([1, 5, 8], 5);
    const r = await layer.forward(x);
    const ref = referenceForward(llama, w, x);
    r.output.data.forEach((v, i) => expect(Math.abs(v - ref.output.data[i]!)).toBeLessThan(1e-5));
    await layer.dispose();
  });
});
