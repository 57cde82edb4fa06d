import { createModuleCache, expectedTrace, initWeights, randomTensor, referenceForward, resolveConfig, type MhaConfig } from '@mha/core';
import { InferenceSession } from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOrtBackend, ortAttentionOp, ortDecomposed } from './index.js';
import { expectClose, fixtureIds, moduleCase } from './test-helpers.js';

// onnxruntime types InferenceSession as a factory; at runtime it is the class whose instances create() returns.
const sessionPrototype = (InferenceSession as unknown as { prototype: InferenceSession }).prototype;

const BACKENDS = [ortAttentionOp, ortDecomposed];

afterEach(() => vi.restoreAllMocks());

describe.each(BACKENDS)('$name module', (backend) => {
  describe('golden PyTorch fixtures', () => {
    for (const id of fixtureIds('module')) {
      it(id, async () => {
        const f = moduleCase(id);
        const m = await backend.createModule(f.config, f.weights);
        try {
          const r = await m.forward(f.x, { returnAttentionWeights: true });
          expect(r.output.shape).toEqual(f.expected.output.shape);
          expectClose(r.output.data, f.expected.output.data, 'output');
          expectClose(r.attentionWeights!.data, f.expected.attentionWeights.data, 'attention weights');
        } finally {
          await m.dispose();
        }
      });
    }
  });

  const configs: [string, MhaConfig][] = [
    ['causal, qkv bias, out bias', { dIn: 10, dOut: 12, heads: 3, causal: true, qkvBias: true }],
    ['non-causal, no biases', { dIn: 8, dOut: 8, heads: 2, outProjBias: false }],
    ['wrapper layout (no out projection)', { dIn: 5, heads: 2, headDim: 3, causal: true, outProj: false }],
    ['explicit scale', { dIn: 6, dOut: 8, heads: 4, causal: true, scale: 0.2 }],
  ];
  for (const [name, config] of configs) {
    it(`${name}: one model serves every batch size and length`, async () => {
      const cfg = resolveConfig(config);
      const weights = initWeights(cfg, 11);
      const m = await backend.createModule(cfg, weights);
      try {
        for (const [B, T] of [[1, 1], [2, 7], [3, 4], [1, 33]] as const) {
          const x = randomTensor([B, T, cfg.dIn], 100 + B * T);
          const ref = referenceForward(cfg, weights, x);
          const plain = await m.forward(x);
          expectClose(plain.output.data, ref.output.data, `B=${B} T=${T} output`);
          const r = await m.forward(x, { returnAttentionWeights: true });
          expectClose(r.output.data, ref.output.data, `B=${B} T=${T} output with weights`);
          expectClose(r.attentionWeights!.data, ref.attentionWeights.data, `B=${B} T=${T} weights`);
        }
      } finally {
        await m.dispose();
      }
    });
  }

  it('records a trace of the tensors onnxruntime produced, matching the spec', async () => {
    const cfg = resolveConfig({ dIn: 6, dOut: 6, heads: 3, causal: true });
    const m = await backend.createModule(cfg, initWeights(cfg, 3));
    try {
      for (const [B, T] of [[2, 4], [1, 9]] as const) {
        const r = await m.forward(randomTensor([B, T, 6], 1), { trace: true });
        expect(r.trace).toEqual(expectedTrace(cfg, B, T));
        expect(r.attentionWeights).toBeUndefined();
      }
    } finally {
      await m.dispose();
    }
  });

  it('never writes to the caller input', async () => {
    const cfg = resolveConfig({ dIn: 4, dOut: 4, heads: 2, causal: true });
    const m = await backend.createModule(cfg, initWeights(cfg, 5));
    const x = randomTensor([2, 3, 4], 9);
    const copy = x.data.slice();
    await m.forward(x, { returnAttentionWeights: true, trace: true });
    expect(Array.from(x.data)).toEqual(Array.from(copy));
    await m.dispose();
  });
});

describe('sessions', () => {
  const cfg = resolveConfig({ dIn: 4, dOut: 4, heads: 2, causal: true });
  const weights = initWeights(cfg, 2);

  it('creates one session per module, once, and reuses it for every plain forward', async () => {
    const create = vi.spyOn(InferenceSession, 'create');
    const run = vi.spyOn(sessionPrototype, 'run');
    const m = await ortDecomposed.createModule(cfg, weights);
    expect(create).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) await m.forward(randomTensor([1, 2 + i, 4], i));
    expect(create).toHaveBeenCalledTimes(1);
    expect(run).toHaveBeenCalledTimes(3);
    // Weights/trace go to the diagnostics session, created on first demand only.
    await m.forward(randomTensor([1, 2, 4], 1), { returnAttentionWeights: true });
    await m.forward(randomTensor([1, 3, 4], 1), { trace: true });
    expect(create).toHaveBeenCalledTimes(2);
    await m.dispose();
  });

  it('dispose() releases the module sessions, once; forward afterwards is MHA_DISPOSED', async () => {
    const release = vi.spyOn(sessionPrototype, 'release');
    const plain = await ortAttentionOp.createModule(cfg, weights);
    await plain.forward(randomTensor([1, 2, 4], 1));
    await plain.dispose();
    expect(release).toHaveBeenCalledTimes(1);
    const diagnosed = await ortAttentionOp.createModule(cfg, weights);
    await diagnosed.forward(randomTensor([1, 2, 4], 1), { returnAttentionWeights: true });
    await diagnosed.dispose();
    await diagnosed.dispose();
    expect(release).toHaveBeenCalledTimes(3);
    await expect(diagnosed.forward(randomTensor([1, 2, 4], 1))).rejects.toMatchObject({ code: 'MHA_DISPOSED' });
  });

  it('dispose() during a forward waits for it before releasing the session', async () => {
    const big = resolveConfig({ dIn: 64, dOut: 64, heads: 4, causal: true });
    const w = initWeights(big, 1);
    const x = randomTensor([2, 256, 64], 1);
    const m = await ortDecomposed.createModule(big, w);
    const pending = m.forward(x);
    await m.dispose();
    expectClose((await pending).output.data, referenceForward(big, w, x).output.data, 'forward overlapping dispose');
  });

  it('applies intraOpNumThreads and graphOptimizationLevel to its sessions', async () => {
    const create = vi.spyOn(InferenceSession, 'create');
    const b = createOrtBackend({ flavour: 'decomposed', intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
    expect(b.name).toBe('ort-decomposed');
    const m = await b.createModule(cfg, weights);
    expect(create.mock.calls[0]![1]).toMatchObject({ intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
    const x = randomTensor([2, 3, 4], 4);
    expectClose((await m.forward(x)).output.data, referenceForward(cfg, weights, x).output.data, 'unoptimised single-threaded output');
    await m.dispose();
  });

  it.each([
    [undefined, '0'],
    [false, '0'],
    [true, '1'],
  ] as const)('intraOpSpinning %s: every session it opens (module, projections, core op, weights) gets allow_spinning = %s', async (intraOpSpinning, expected) => {
    const create = vi.spyOn(InferenceSession, 'create');
    const b = createOrtBackend({ flavour: 'decomposed', intraOpNumThreads: 2, ...(intraOpSpinning === undefined ? {} : { intraOpSpinning }) });
    expect(b.options.intraOpSpinning).toBe(intraOpSpinning ?? false);
    const m = await b.createModule(cfg, weights);
    try {
      const cache = createModuleCache(m, 2, 4);
      const x = randomTensor([2, 3, 4], 4);
      const cached = await m.forward(x, { cache }); // the projection and core-op sessions
      const full = await m.forward(x, { returnAttentionWeights: true }); // the weights session
      expectClose(cached.output.data, referenceForward(cfg, weights, x).output.data, 'cached forward');
      expectClose(full.output.data, referenceForward(cfg, weights, x).output.data, 'forward with weights');
    } finally {
      await m.dispose();
      await b.dispose();
    }
    // The module, the linear sessions without (q/k/v) and with (out) a bias, the core op, the weights session.
    expect(create.mock.calls.length).toBe(5);
    for (const [, options] of create.mock.calls) expect(options).toMatchObject({ extra: { session: { intra_op: { allow_spinning: expected } } } });
  });

  it('rejects bad options with a typed error naming the option', () => {
    expect(() => createOrtBackend({ flavour: 'webgpu' as never })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.flavour' }));
    expect(() => createOrtBackend({ flavour: 'decomposed', intraOpNumThreads: -1 })).toThrow(expect.objectContaining({ field: 'options.intraOpNumThreads' }));
    expect(() => createOrtBackend({ flavour: 'decomposed', graphOptimizationLevel: 'max' as never })).toThrow(expect.objectContaining({ field: 'options.graphOptimizationLevel' }));
    expect(() => createOrtBackend({ flavour: 'decomposed', intraOpSpinning: 1 as never })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.intraOpSpinning', value: 1 }));
    expect(() => createOrtBackend({ flavour: 'decomposed', threads: 2 } as never)).toThrow(expect.objectContaining({ field: 'options.threads' }));
  });
});

describe('diagnostics', () => {
  it('counts live sessions: modules, diagnostic sessions and cached core-op sessions all return to the baseline', async () => {
    const base = ortDecomposed.diagnostics().sessions!;
    const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, causal: true });
    const modules = await Promise.all([1, 2, 3].map((s) => ortDecomposed.createModule(cfg, initWeights(cfg, s))));
    expect(ortDecomposed.diagnostics().sessions).toBe(base + 3);
    await modules[0]!.forward(randomTensor([1, 3, 4], 1), { returnAttentionWeights: true }); // opens the diagnostic session
    await ortDecomposed.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3)); // a cached core-op session
    expect(ortDecomposed.diagnostics().sessions).toBe(base + 5);
    await Promise.all(modules.map((m) => m.dispose()));
    await ortDecomposed.dispose();
    expect(ortDecomposed.diagnostics().sessions).toBe(base);
  });
});
