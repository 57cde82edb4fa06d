import { describe, expect, it } from 'vitest';
import { defineBackend, type BackendDefinition } from './backend.js';
import { resolveConfig, type MhaConfig } from './config.js';
import { initWeights, randomTensor } from './init.js';
import { createKvCache, createModuleCache } from './kv-cache.js';
import { referenceAttentionValid } from './reference/attention.js';
import { referenceForward } from './reference/forward.js';
import type { Tensor } from './tensor.js';
import { isMhaError } from './errors.js';

const def: BackendDefinition = {
  name: 'ref',
  runtimes: ['node'],
  capabilities: ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'],
  createKernel: (config, weights) => ({
    forward: (input) => ({ output: Float32Array.from(referenceForward(config, weights, { data: input.x, shape: [input.batch, input.tokens, config.dIn] }).output.data) }),
  }),
  attention: (a) => ({ output: Float32Array.from(referenceAttentionValid(a).output) }),
};

/** Tokens `from..to` of `[B, T, d]`. */
function tokens(x: Tensor, from: number, to: number): Tensor {
  const [B, T, d] = x.shape as [number, number, number];
  const out = new Float32Array(B * (to - from) * d);
  for (let b = 0; b < B; b++) out.set(x.data.subarray((b * T + from) * d, (b * T + to) * d), b * (to - from) * d);
  return { data: out, shape: [B, to - from, d] };
}

async function rejects(p: Promise<unknown>): Promise<{ code: string; field: string; value: unknown }> {
  try {
    await p;
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field, value: e.value };
    throw e;
  }
  throw new Error('did not throw');
}

const gqa: MhaConfig = { dIn: 16, heads: 4, headDim: 4, kvHeads: 2, causal: true, qkvBias: true };

describe('module forward(x, { cache })', () => {
  it('decoding in chunks [3, 1, 1, 4] equals the full causal forward (GQA, biases)', async () => {
    const cfg = resolveConfig(gqa);
    const w = initWeights(cfg, 7);
    const x = randomTensor([2, 9, 16], 8);
    const full = referenceForward(cfg, w, x).output;
    const m = await defineBackend(def).createModule(cfg, w);
    const cache = createModuleCache(m, 2, 9);
    let at = 0;
    for (const n of [3, 1, 1, 4]) {
      const r = await m.forward(tokens(x, at, at + n), { cache });
      const want = tokens({ data: Float32Array.from(full.data), shape: full.shape }, at, at + n);
      r.output.data.forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThan(1e-5));
      at += n;
      expect(cache.length).toBe(at);
    }
    await expect(rejects(m.forward(tokens(x, 0, 1), { cache }))).resolves.toEqual({ code: 'MHA_CACHE_FULL', field: 'x.shape[1]', value: 1 });
  });

  it('refuses a cache of the wrong dims, a non-causal module and options it cannot carry', async () => {
    const cfg = resolveConfig(gqa);
    const m = await defineBackend(def).createModule(cfg, initWeights(cfg, 1));
    const x = randomTensor([1, 2, 16], 2);
    const bad = (o: object) => rejects(m.forward(x, o));
    await expect(bad({ cache: createKvCache({ batch: 1, kvHeads: 4, capacity: 4, keyDim: 4, valueDim: 4 }) })).resolves.toEqual({ code: 'MHA_DIM_MISMATCH', field: 'options.cache.kvHeads', value: 4 });
    await expect(bad({ cache: createModuleCache(m, 2, 4) })).resolves.toEqual({ code: 'MHA_DIM_MISMATCH', field: 'options.cache.batch', value: 2 });
    await expect(bad({ cache: {} })).resolves.toMatchObject({ code: 'MHA_INVALID_TYPE', field: 'options.cache' });
    await expect(bad({ cache: createModuleCache(m, 1, 4), causalAlign: 'top-left' })).resolves.toEqual({ code: 'MHA_INVALID_OPTION', field: 'options.causalAlign', value: 'top-left' });
    await expect(bad({ cache: createModuleCache(m, 1, 4), validLengths: [3] })).resolves.toEqual({ code: 'MHA_INVALID_OPTION', field: 'options.validLengths[0]', value: 3 });
    await expect(bad({ validLengths: [1] })).resolves.toEqual({ code: 'MHA_INVALID_OPTION', field: 'options.validLengths', value: 'without cache' });
    await expect(bad({ cache: createModuleCache(m, 1, 4), validLengths: [1, 1] })).resolves.toEqual({ code: 'MHA_DIM_MISMATCH', field: 'options.validLengths.length', value: 2 });
    await expect(bad({ cache: createModuleCache(m, 1, 4), validLengths: [1], paddingSide: 'top' })).resolves.toEqual({ code: 'MHA_INVALID_OPTION', field: 'options.paddingSide', value: 'top' });
    const nc = resolveConfig({ dIn: 16, heads: 4, headDim: 4 });
    const m2 = await defineBackend(def).createModule(nc, initWeights(nc, 1));
    await expect(rejects(m2.forward(x, { cache: createModuleCache(m2, 1, 4) }))).resolves.toEqual({ code: 'MHA_INVALID_OPTION', field: 'config.causal', value: false });
  });

  it('left padding (validLengths), weights over the whole cache and trace equal the full forward with a key-padding mask', async () => {
    const cfg = resolveConfig(gqa);
    const w = initWeights(cfg, 17);
    const m = await defineBackend({ ...def, attention: (a) => { const r = referenceAttentionValid(a); return { output: Float32Array.from(r.output), weights: Float32Array.from(r.weights) }; } }).createModule(cfg, w);
    // Row 0: 2 left pads then 3 tokens; row 1: 5 tokens. Then two single steps.
    const x = randomTensor([2, 7, 16], 18);
    const valid = Uint8Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const full = referenceForward(cfg, w, x, { keyPaddingMask: { kind: 'bool', data: valid, shape: [2, 7] } });
    const cache = createModuleCache(m, 2, 7);
    const r0 = await m.forward(tokens(x, 0, 5), { cache, validLengths: [3, 5], paddingSide: 'left', returnWeights: true });
    expect(r0.weights!.shape).toEqual([2, 4, 5, 5]);
    for (const [at, n] of [[5, 1], [6, 1]] as const) {
      const r = await m.forward(tokens(x, at, at + n), { cache, returnWeights: true, trace: true });
      expect(r.weights!.shape).toEqual([2, 4, 1, at + 1]);
      expect(r.trace!.find((e) => e.step === 'k')!.shape).toEqual([2, 2, at + 1, 4]);
      const want = tokens({ data: Float32Array.from(full.output.data), shape: full.output.shape }, at, at + n);
      r.output.data.forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThan(1e-5));
      // Row 0's two padding keys get weight 0 from every later query.
      expect(r.weights!.data[0]).toBe(0);
      expect(r.weights!.data[1]).toBe(0);
    }
    expect(cache.hasPadding).toBe(true);
    await expect(rejects(defineBackend(def).attention(randomTensor([2, 2, 1, 4], 1), randomTensor([2, 2, 1, 4], 2), randomTensor([2, 2, 1, 4], 3), { cache }))).resolves.toEqual({ code: 'MHA_INVALID_OPTION', field: 'options.cache', value: 'with padding' });
    cache.reset();
    expect(cache.hasPadding).toBe(false);
  });

  it('a step whose output projection fails leaves the cache as it was', async () => {
    const cfg = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true });
    let fail = false;
    let calls = 0;
    const failing: BackendDefinition = {
      ...def,
      createKernel: async (config, weights) => {
        const inner = await def.createKernel(config, weights);
        return {
          forward: (input, options) => {
            // Projections run q, k, v, then (after the attention appended) o: the fourth fails.
            if (fail && ++calls === 4) throw new Error('kernel failed');
            return inner.forward(input, options);
          },
        };
      },
    };
    const m = await defineBackend(failing).createModule(cfg, initWeights(cfg, 3));
    const cache = createModuleCache(m, 1, 4);
    await m.forward(randomTensor([1, 2, 8], 4), { cache });
    fail = true;
    await expect(m.forward(randomTensor([1, 1, 8], 5), { cache })).rejects.toThrow('kernel failed');
    expect(cache.length).toBe(2);
  });
});
