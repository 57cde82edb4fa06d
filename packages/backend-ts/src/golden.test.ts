import { fromTorchStateDict, resolveConfig, type TorchLayout } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { tsBackend } from './index.js';
import { expectAllClose, FIXTURE_TOLERANCE, maxAbs, scaledTolerance } from './test-support/compare.js';
import { attentionOptions, goldenIds, readGolden } from './test-support/golden.js';

describe('PyTorch golden fixtures (fixtures/golden)', () => {
  const ids = goldenIds();

  it('finds every fixture the index lists', () => {
    expect(ids.length).toBeGreaterThanOrEqual(27);
  });

  for (const id of ids) {
    it(id, async () => {
      const f = readGolden(id);
      // An absolute error in float32 sums scales with the magnitude of the terms: max(1, M) (FORMAT.md
      // notes outputs up to ~900 for book-mha-large-logits).
      const outTol = scaledTolerance(FIXTURE_TOLERANCE, maxAbs(f.expected.output.data));
      if (f.kind === 'module') {
        const config = resolveConfig(f.config as never);
        const weights = fromTorchStateDict(f.weightLayout as TorchLayout, config, f.weights);
        const m = await tsBackend.createModule(config, weights);
        const r = await m.forward(f.inputs.x!, { returnAttentionWeights: true });
        await m.dispose();
        expect(r.output.shape).toEqual(f.expected.output.shape);
        expectAllClose(r.output.data, f.expected.output.data, outTol, 'output');
        if (f.expected.attentionWeights) expectAllClose(r.attentionWeights!.data, f.expected.attentionWeights.data, FIXTURE_TOLERANCE, 'attention weights');
      } else {
        const r = await tsBackend.attention(f.inputs.q!, f.inputs.k!, f.inputs.v!, attentionOptions(f));
        expect(r.output.shape).toEqual(f.expected.output.shape);
        expectAllClose(r.output.data, f.expected.output.data, outTol, 'output');
        if (f.expected.attentionWeights) expectAllClose(r.weights!.data, f.expected.attentionWeights.data, FIXTURE_TOLERANCE, 'weights');
      }
    });
  }

  // The numbers printed in the book (ch03, torch.manual_seed(123)): an oracle independent of the generator.
  for (const [id, printed] of [
    ['book-mha-ch03', [0.319, 0.4858]],
    ['book-wrapper-ch03', [-0.4519, 0.2216, 0.4772, 0.1063]],
  ] as const) {
    it(`${id}: output[0, 0] rounds to the book's [${printed.join(', ')}]`, async () => {
      const f = readGolden(id);
      const config = resolveConfig(f.config as never);
      const m = await tsBackend.createModule(config, fromTorchStateDict(f.weightLayout as TorchLayout, config, f.weights));
      const out = (await m.forward(f.inputs.x!)).output.data;
      await m.dispose();
      expect(Array.from(out.subarray(0, printed.length), (v) => Math.round(v * 1e4) / 1e4)).toEqual(printed);
    });
  }
});
