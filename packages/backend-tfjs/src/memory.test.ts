import { initWeights, randomTensor, resolveConfig } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { TfjsBackend } from './index.js';
import { VARIANTS, variantName } from './test-helpers.js';

/** tf.memory() needs an initialised active backend: one tiny call makes this variant's backend active. */
async function activated(backend: TfjsBackend): Promise<void> {
  const t = randomTensor([1, 1, 1, 1], 0);
  await backend.attention(t, t, t);
}

function live(): { tensors: number; buffers: number } {
  const m = tf.memory();
  return { tensors: m.numTensors, buffers: m.numDataBuffers };
}

for (const backend of VARIANTS) {
  describe(`tensor lifetime on ${variantName(backend)}`, () => {
    it('1,000 forwards leave no tensor behind; dispose() returns to the baseline', async () => {
      // causal + every bias. The module's tensors: batched layout wqkv, bqkv, wo, bo; per-head layout
      // wq, wk, wv, bq, bk, bv for each of the 2 heads, wo, bo.
      const cfg = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true, qkvBias: true });
      const moduleTensors = backend.tfjs.attentionLayout === 'batched' ? 4 : 14;
      const x = randomTensor([2, 6, 8], 1);
      await activated(backend);
      const baseline = live();
      const m = await backend.createModule(cfg, initWeights(cfg, 2));
      expect(live().tensors).toBe(baseline.tensors + moduleTensors);
      let first: Float32Array | undefined;
      for (let i = 0; i < 1000; i++) {
        const r = await m.forward(x, { returnAttentionWeights: i % 3 === 0, trace: i % 5 === 0 });
        first ??= r.output.data;
        if (i === 999) expect(r.output.data).toEqual(first);
      }
      // The weights plus the one cached causal bias (T = 6): nothing per forward.
      expect(live()).toEqual({ tensors: baseline.tensors + moduleTensors + 1, buffers: baseline.buffers + moduleTensors + 1 });
      await m.dispose();
      expect(live()).toEqual(baseline);
    });

    it('the core op leaves no tensor behind, with masks, softcap and grouped heads', async () => {
      const q = randomTensor([2, 4, 3, 4], 1);
      const k = randomTensor([2, 2, 5, 4], 2);
      const v = randomTensor([2, 2, 5, 6], 3);
      const mask = { kind: 'bool' as const, data: Uint8Array.from({ length: 15 }, (_, i) => (i % 4 ? 1 : 0)), shape: [3, 5] };
      await activated(backend);
      const baseline = live();
      for (let i = 0; i < 200; i++) await backend.attention(q, k, v, { causal: i % 2 === 0, mask, softcap: 3, returnWeights: i % 2 === 1 });
      expect(live()).toEqual(baseline);
    });

    it('dispose() waits for a queued forward; forward after dispose() is refused', async () => {
      const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2 });
      await activated(backend);
      const baseline = live();
      const m = await backend.createModule(cfg, initWeights(cfg, 3));
      const x = randomTensor([1, 3, 4], 4);
      const pending = m.forward(x);
      await m.dispose();
    await expect(pending).resolves.toBeDefined();
      await expect(m.forward(x)).rejects.toMatchObject({ code: 'MHA_DISPOSED' });
      expect(live()).toEqual(baseline);
    });
  });
}

describe('diagnostics', () => {
  it('counts live tensors and returns to the baseline after dispose', async () => {
    const { tfjsCpu } = await import('./index.js');
    const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, causal: true });
    const warm = await tfjsCpu.createModule(cfg, initWeights(cfg, 1));
    await warm.forward(randomTensor([1, 3, 4], 1));
    await warm.dispose();
    const base = tfjsCpu.diagnostics().tensors!;
    const m = await tfjsCpu.createModule(cfg, initWeights(cfg, 2));
    expect(tfjsCpu.diagnostics().tensors).toBeGreaterThan(base); // the uploaded weights
    await m.forward(randomTensor([1, 3, 4], 2));
    await m.dispose();
    expect(tfjsCpu.diagnostics().tensors).toBe(base);
  });

  it('backend.dispose() twice at once: each resolves only after the calls started before it have finished and freed their tensors', async () => {
    const { tfjsCpu } = await import('./index.js');
    const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, causal: true });
    const m = await tfjsCpu.createModule(cfg, initWeights(cfg, 2));
    await m.forward(randomTensor([1, 3, 4], 1));
    const withModule = tfjsCpu.diagnostics().tensors!;
    const q = randomTensor([1, 2, 64, 8], 3);
    const settled: string[] = [];
    const op = tfjsCpu.attention(q, q, q, { causal: true, returnWeights: true }).then(() => settled.push('op'));
    const forward = m.forward(randomTensor([1, 3, 4], 2)).then(() => settled.push('forward'));
    const seen: string[] = [];
    const done = (which: string) => () => seen.push(`${which}: ${settled.sort().join('+')}, ${tfjsCpu.diagnostics().tensors! - withModule} extra tensors`);
    await Promise.all([tfjsCpu.dispose().then(done('first')), tfjsCpu.dispose().then(done('second'))]);
    expect(seen.sort()).toEqual(['first: forward+op, 0 extra tensors', 'second: forward+op, 0 extra tensors']);
    await Promise.all([op, forward]);
    await m.dispose();
  });
});
