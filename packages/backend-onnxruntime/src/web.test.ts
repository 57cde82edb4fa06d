// @mha/backend-onnxruntime/web: what is particular to onnxruntime-web (options, threads, its runtime
// starting once per process). Numbers are checked against core's float64 reference; the shared suite
// runs in web-conformance.test.ts.
import { initWeights, isMhaError, randomTensor, referenceAttention, referenceForward, resolveConfig } from '@mha/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectClose } from './test-helpers.js';
import { createOrtWebBackend, ortWeb, resolveOrtWebBackendOptions } from './web.js';

const config = resolveConfig({ dIn: 24, dOut: 24, heads: 3, causal: true, qkvBias: true });
const weights = initWeights(config, 1);
const x = randomTensor([2, 9, 24], 2);

afterEach(() => vi.unstubAllGlobals());

describe('ort-web modules', () => {
  for (const flavour of ['attention-op', 'decomposed'] as const) {
    it(`${flavour}: forward and weights match the float64 reference; sessions released`, async () => {
      const backend = createOrtWebBackend({ flavour });
      expect(backend.name).toBe(flavour === 'attention-op' ? 'ort-web' : 'ort-web-decomposed');
      const m = await backend.createModule(config, weights);
      const r = await m.forward(x, { returnAttentionWeights: true });
      const ref = referenceForward(config, weights, x);
      expectClose(r.output.data, ref.output.data, 'output');
      expectClose(r.attentionWeights!.data, ref.attentionWeights.data, 'attention weights');
      expect(backend.diagnostics?.()).toEqual({ sessions: 2, intraOpThreads: 0 });
      await m.dispose();
      expect(backend.diagnostics?.()).toEqual({ sessions: 0, intraOpThreads: 0 });
    });
  }

  it('core op: GQA, value head size, softcap, bool mask and weights match the reference', async () => {
    const q = randomTensor([2, 4, 5, 8], 3);
    const k = randomTensor([2, 2, 7, 8], 4);
    const v = randomTensor([2, 2, 7, 6], 5);
    const mask = { data: Uint8Array.from({ length: 35 }, (_, i) => (i % 3 === 0 ? 0 : 7)), shape: [5, 7], kind: 'bool' } as const;
    const opts = { causal: true, softcap: 5, returnWeights: true, mask } as const;
    const r = await ortWeb.attention(q, k, v, opts);
    const ref = referenceAttention(q, k, v, opts);
    expectClose(r.output.data, ref.output.data, 'output');
    expectClose(r.weights!.data, ref.weights!.data, 'weights');
  });
});

describe('ort-web native projection (lowered module calls)', () => {
  it('a GQA module runs its projections on one shared linear session and matches the reference', async () => {
    const backend = createOrtWebBackend();
    const gqa = resolveConfig({ dIn: 24, heads: 6, headDim: 4, kvHeads: 2, causal: true, qkvBias: true });
    const w = initWeights(gqa, 5);
    const x1 = randomTensor([2, 9, 24], 1);
    const m = await backend.createModule(gqa, w);
    const r = await m.forward(x1);
    // The core-op session and the linear session with a bias.
    expect(backend.diagnostics?.()).toEqual({ sessions: 2, intraOpThreads: 0 });
    expectClose(r.output.data, referenceForward(gqa, w, x1).output.data, 'GQA output');
    await m.dispose();
    await backend.dispose();
    expect(backend.diagnostics?.()).toEqual({ sessions: 0, intraOpThreads: 0 });
  });
});

describe('ort-web options', () => {
  it.each([
    [{ threads: 0 }, 'options.threads'],
    [{ threads: 1.5 }, 'options.threads'],
    [{ wasmPaths: '' }, 'options.wasmPaths'],
    [{ wasmPaths: { js: '/x.js' } }, 'options.wasmPaths'],
    [{ flavour: 'fused' }, 'options.flavour'],
    [{ graphOptimizationLevel: 'max' }, 'options.graphOptimizationLevel'],
    [{ intraOpNumThreads: 2 }, 'options.intraOpNumThreads'],
  ])('%j is refused naming %s', (options, field) => {
    expect(() => resolveOrtWebBackendOptions(options as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field }));
  });

  it('defaults: attention-op, one thread, onnxruntime-web finds its own files', () => {
    expect(ortWeb.options).toMatchObject({ flavour: 'attention-op', threads: 1, wasmPaths: undefined, graphOptimizationLevel: 'all' });
    expect(ortWeb.threads).toBe(1);
    expect(ortWeb.threadsUnavailable).toBeUndefined();
  });

  it('threads fall back to one, with the reason, where memory cannot be shared', () => {
    vi.stubGlobal('crossOriginIsolated', false);
    const b = createOrtWebBackend({ threads: 4 });
    expect(b.threads).toBe(1);
    expect(b.threadsUnavailable).toMatch(/cross-origin isolated/);
    vi.stubGlobal('SharedArrayBuffer', undefined);
    expect(createOrtWebBackend({ threads: 2 }).threadsUnavailable).toMatch(/SharedArrayBuffer/);
    expect(createOrtWebBackend({ threads: 1 }).threadsUnavailable).toBeUndefined();
  });

  it('Node shares memory: more threads are granted', () => {
    const b = createOrtWebBackend({ threads: 2 });
    expect(b.threads).toBe(2);
    expect(b.threadsUnavailable).toBeUndefined();
  });

  it('once onnxruntime-web has started, another thread count or file location is refused, not ignored', async () => {
    const m = await ortWeb.createModule(config, weights); // starts it: 1 thread, default files
    await m.dispose();
    const refused = async (backend: ReturnType<typeof createOrtWebBackend>, field: string) => {
      const e = await backend.createModule(config, weights).then(() => undefined, (err: unknown) => err);
      expect(isMhaError(e, 'MHA_INVALID_OPTION')).toBe(true);
      expect(e).toMatchObject({ field });
    };
    await refused(createOrtWebBackend({ threads: 2 }), 'options.threads');
    await refused(createOrtWebBackend({ wasmPaths: '/elsewhere/' }), 'options.wasmPaths');
    const same = await createOrtWebBackend({ flavour: 'decomposed' }).createModule(config, weights);
    await same.dispose();
  });
});
