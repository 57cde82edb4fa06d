import { expectedTrace, initWeights, isMhaError, MhaErrorCode, randomTensor, referenceForward, resolveConfig, type MhaConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { tsBackend } from './index.js';
import { createModuleKernel } from './module-kernel.js';
import { expectAllClose, maxAbs, REFERENCE_TOLERANCE, scaledTolerance } from './test-support/compare.js';

let seed = 1;
async function check(config: MhaConfig, batch: number, tokens: number, magnitude = 1) {
  const s = (seed += 2);
  const cfg = resolveConfig(config);
  const weights = initWeights(cfg, s);
  const x = randomTensor([batch, tokens, cfg.dIn], s + 1, magnitude);
  const ref = referenceForward(cfg, weights, x);
  const m = await tsBackend.createModule(cfg, weights);
  try {
    const r = await m.forward(x, { returnAttentionWeights: true, trace: true });
    expect(r.output.shape).toEqual([batch, tokens, cfg.dOut]);
    expectAllClose(r.output.data, ref.output.data, scaledTolerance(REFERENCE_TOLERANCE, maxAbs(ref.output.data)), 'output');
    expectAllClose(r.attentionWeights!.data, ref.attentionWeights.data, REFERENCE_TOLERANCE, 'attention weights');
    expect(r.trace).toEqual(expectedTrace(cfg, batch, tokens));
    // Without the weights the kernel takes the same path minus the writes: identical output.
    const plain = await m.forward(x);
    expect(plain.attentionWeights).toBeUndefined();
    expect(plain.trace).toBeUndefined();
    expect(Array.from(plain.output.data)).toEqual(Array.from(r.output.data));
    return r;
  } finally {
    await m.dispose();
  }
}

describe('module forward vs the float64 reference', () => {
  // Odd sizes straddle the 8-wide tiles on every axis; T = 1, heads = 1 and headDim = 1 are the edges.
  const shapes: { name: string; dIn: number; heads: number; headDim: number; batch: number; tokens: number }[] = [
    { name: 'odd', dIn: 7, heads: 3, headDim: 5, batch: 2, tokens: 11 },
    { name: 'tiny', dIn: 1, heads: 1, headDim: 1, batch: 1, tokens: 1 },
    { name: 'headDim 1', dIn: 5, heads: 4, headDim: 1, batch: 2, tokens: 9 },
    { name: 'one head', dIn: 10, heads: 1, headDim: 8, batch: 3, tokens: 8 },
    { name: 'T 1, B 3', dIn: 6, heads: 2, headDim: 3, batch: 3, tokens: 1 },
    { name: 'wide head', dIn: 12, heads: 2, headDim: 17, batch: 1, tokens: 17 },
  ];
  for (const sh of shapes)
    for (const causal of [false, true])
      for (const qkvBias of [false, true])
        for (const out of ['none', 'bias', 'no-bias'] as const) {
          const config: MhaConfig = { dIn: sh.dIn, heads: sh.heads, headDim: sh.headDim, causal, qkvBias, outProj: out !== 'none', outProjBias: out === 'bias' };
          it(`${sh.name}: B${sh.batch} T${sh.tokens} dIn${sh.dIn} ${sh.heads}x${sh.headDim} causal=${causal} qkvBias=${qkvBias} outProj=${out}`, () => check(config, sh.batch, sh.tokens));
        }

  it('a scale override', () => check({ dIn: 8, heads: 2, headDim: 4, causal: true, scale: 0.9 }, 2, 6));
  it('a longer sequence over many tiles (B2 T40 dIn64 4x16, causal, biases)', () => check({ dIn: 64, heads: 4, headDim: 16, causal: true, qkvBias: true }, 2, 40));
  it('GPT-2 head size, short sequence (dIn 96, 3x32, T 27, causal)', () => check({ dIn: 96, heads: 3, headDim: 32, causal: true, qkvBias: true }, 1, 27));

  for (const magnitude of [1e3, 1e4]) {
    it(`inputs x${magnitude}: logits far beyond exp's range stay finite and match`, async () => {
      const r = await check({ dIn: 4, heads: 2, headDim: 2, causal: true, qkvBias: true }, 2, 6, magnitude);
      expect(r.output.data.every(Number.isFinite)).toBe(true);
      expect(r.attentionWeights!.data.every(Number.isFinite)).toBe(true);
    });
  }

  it('causal weights are exactly zero above the diagonal', async () => {
    const r = await check({ dIn: 6, heads: 2, headDim: 3, causal: true }, 1, 10);
    const w = r.attentionWeights!.data;
    for (let h = 0; h < 2; h++) for (let i = 0; i < 10; i++) for (let j = i + 1; j < 10; j++) expect(w[(h * 10 + i) * 10 + j]).toBe(0);
  });
});

describe('module state', () => {
  const cfg = resolveConfig({ dIn: 9, heads: 3, headDim: 4, causal: true, qkvBias: true });
  const weights = initWeights(cfg, 7);

  it('reused scratch never leaks between forwards of different sizes', async () => {
    const m = await tsBackend.createModule(cfg, weights);
    const big = randomTensor([2, 21, 9], 1);
    const small = randomTensor([1, 5, 9], 2);
    const first = (await m.forward(big, { returnAttentionWeights: true })).output.data.slice();
    const smallOut = (await m.forward(small)).output.data;
    expectAllClose(smallOut, referenceForward(cfg, weights, small).output.data, REFERENCE_TOLERANCE, 'small after big');
    expect(Array.from((await m.forward(big)).output.data)).toEqual(Array.from(first));
    await m.dispose();
  });

  it('does not modify the input, and later changes to the caller weights do not affect the module', async () => {
    const w = initWeights(cfg, 8);
    const m = await tsBackend.createModule(cfg, w);
    const x = randomTensor([2, 4, 9], 3);
    const before = x.data.slice();
    const out = (await m.forward(x)).output.data.slice();
    expect(Array.from(x.data)).toEqual(Array.from(before));
    w.wq.fill(0);
    expect(Array.from((await m.forward(x)).output.data)).toEqual(Array.from(out));
    await m.dispose();
  });

  it('forward after dispose is MHA_DISPOSED (core), and the kernel itself refuses too', async () => {
    const m = await tsBackend.createModule(cfg, weights);
    await m.dispose();
    const err = await m.forward(randomTensor([1, 2, 9], 1)).catch((e: unknown) => e);
    expect(isMhaError(err, MhaErrorCode.Disposed)).toBe(true);
    const k = createModuleKernel(cfg, weights, { retainScratch: true });
    k.dispose();
    expect(() => k.forward({ x: new Float32Array(9), batch: 1, tokens: 1 }, { returnAttentionWeights: false, trace: false })).toThrow(/after dispose/);
  });

  it('retainScratch: false holds no work buffers between forwards; true keeps them', () => {
    const x = { x: randomTensor([1, 12, 9], 4).data, batch: 1, tokens: 12 };
    const opts = { returnAttentionWeights: false, trace: false };
    const lean = createModuleKernel(cfg, weights, { retainScratch: false });
    const kept = createModuleKernel(cfg, weights, { retainScratch: true });
    const a = lean.forward(x, opts);
    const b = kept.forward(x, opts);
    expect(lean.scratchElements).toBe(0);
    expect(kept.scratchElements).toBeGreaterThan(0);
    expect(Array.from(a.output)).toEqual(Array.from(b.output));
  });

  it('memory is O(T x D) without attention weights: no H x T x T score buffer, linear growth in T', () => {
    const c = resolveConfig({ dIn: 32, heads: 4, headDim: 8, causal: true });
    const w = initWeights(c, 9);
    const held = (T: number) => {
      const k = createModuleKernel(c, w, { retainScratch: true });
      k.forward({ x: randomTensor([1, T, 32], T).data, batch: 1, tokens: T }, { returnAttentionWeights: false, trace: false });
      return k.scratchElements;
    };
    const at256 = held(256);
    const at512 = held(512);
    expect(at512).toBeLessThan(c.heads * 512 * 512);
    // Every buffer is linear in T (plus a few fixed 64-element tiles), so doubling T at most doubles it.
    expect(at512).toBeLessThanOrEqual(2 * at256);
    expect(at512).toBeGreaterThan(1.9 * at256);
  });
});
