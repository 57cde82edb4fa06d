import { referenceAttention, referenceForward } from '@mha/core';
import { tsBackend } from '@mha/backend-ts';
import { describe, expect, it } from 'vitest';
import { diffColour, weightColour } from './heatmap.js';
import { BOOK_TOKENS, FIXTURE_IDS, loadFixture, PRESETS } from './presets.js';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('explorer presets', () => {
  it('bundles every golden fixture', () => {
    expect(FIXTURE_IDS).toContain('book-mha-ch03');
    expect(FIXTURE_IDS).not.toContain('index');
  });
  it("the book preset is the book's fixture: its batch, PyTorch's output, the six words", async () => {
    const book = PRESETS.find((p) => p.id === 'book')!;
    const c = await book.build(structuredClone(book.config));
    const f = await loadFixture('book-mha-ch03');
    if (c.kind !== 'module' || f.kind !== 'module') throw new Error('module expected');
    expect(c.tokens).toEqual(BOOK_TOKENS);
    expect(Array.from(c.x.data)).toEqual(Array.from(f.x.data));
    const m = await tsBackend.createModule(c.config, c.weights);
    const out = (await m.forward(c.x)).output;
    await m.dispose();
    expect(maxDiff(out.data, f.expected.output.data)).toBeLessThan(1e-6);
  });
  it('every preset builds and runs on ts, matching the float64 reference', async () => {
    for (const p of PRESETS) {
      const c = await p.build(structuredClone(p.config));
      if (c.kind === 'module') {
        const m = await tsBackend.createModule(c.config, c.weights);
        const r = await m.forward(c.x, { returnAttentionWeights: true });
        await m.dispose();
        const ref = referenceForward(c.config, c.weights, c.x);
        expect(maxDiff(r.attentionWeights!.data, ref.attentionWeights.data), p.id).toBeLessThan(1e-5);
        expect(c.tokens).toHaveLength(c.x.shape[1]!);
      } else {
        const r = await tsBackend.attention(c.q, c.k, c.v, { causal: c.causal, mask: c.mask, returnWeights: true });
        const ref = referenceAttention(c.q, c.k, c.v, { causal: c.causal, mask: c.mask });
        expect(maxDiff(r.weights!.data, ref.weights.data), p.id).toBeLessThan(1e-5);
        expect([c.queries.length, c.keys.length]).toEqual([c.q.shape[2], c.k.shape[2]]);
      }
    }
  });
  it('an edited config gives random weights of the edited shape; bad values are refused', async () => {
    const book = PRESETS.find((p) => p.id === 'book')!;
    const c = await book.build({ config: { dIn: 4, dOut: 6, heads: 3, causal: false }, batch: 1, tokens: 5, seed: 2 });
    if (c.kind !== 'module') throw new Error('module expected');
    expect([c.config.dIn, c.config.heads, c.config.headDim, c.config.causal]).toEqual([4, 3, 2, false]);
    expect(c.x.shape).toEqual([1, 5, 4]);
    await expect(book.build({ ...book.config, tokens: 0 })).rejects.toThrow('tokens must be a positive integer');
    const masked = PRESETS.find((p) => p.id === 'masked')!;
    await expect(masked.build({ ...masked.config, maskKeys: [99] })).rejects.toThrow('maskKeys');
  });
});

describe('heatmap colours', () => {
  it('weight colour runs from white (0) to dark blue (1), darker as the weight grows, clamped', () => {
    expect(weightColour(0)).toEqual([255, 255, 255]);
    expect(weightColour(1)).toEqual([28, 85, 180]);
    for (let w = 0.05; w <= 1; w += 0.05) expect(weightColour(w)[0]).toBeLessThan(weightColour(w - 0.05)[0]);
    expect(weightColour(-1)).toEqual(weightColour(0));
    expect(weightColour(2)).toEqual(weightColour(1));
  });
  it('difference colour: white at 0, redder with the log of the difference, magenta for NaN', () => {
    expect(diffColour(0)).toEqual([255, 255, 255]);
    expect(diffColour(1e-5)[1]).toBeLessThan(diffColour(1e-7)[1]);
    expect(diffColour(NaN)).toEqual([200, 0, 200]);
  });
});
