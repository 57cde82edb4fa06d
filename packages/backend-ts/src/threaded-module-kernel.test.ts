import { initWeights, randomTensor, resolveConfig, type MhaConfig, type ResolvedMhaConfig } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { Phase } from './forward-phases.js';
import { createModuleKernel } from './module-kernel.js';
import { createThreadedModuleKernel } from './threaded-module-kernel.js';
import { expectSameBits, recordingPool } from './test-support/threads.js';

// The threaded kernel (these sources) on real worker threads running the built worker script.
const two = recordingPool(1);
const three = recordingPool(2);
afterAll(() => Promise.all([two.pool.dispose(), three.pool.dispose()]));

let seed = 100;
function setup(config: MhaConfig) {
  const cfg = resolveConfig(config);
  return { cfg, weights: initWeights(cfg, (seed += 3)) };
}

function phasesSentSince(sent: typeof two.sent, from: number): Set<Phase> {
  return new Set(sent.slice(from).flatMap((s) => (s.message.kind === 'task' ? [s.message.phase] : [])));
}

/** Runs the single-threaded and the threaded kernel on the same input; every result must match bit for bit. */
async function expectIdentical(cfg: ResolvedMhaConfig, weights: ReturnType<typeof initWeights>, batch: number, tokens: number, pool: typeof two) {
  const single = createModuleKernel(cfg, weights, { retainScratch: true });
  const threaded = createThreadedModuleKernel(cfg, weights, { pool: pool.pool, retainScratch: true, minWorkPerThread: 0 });
  const input = { x: randomTensor([batch, tokens, cfg.dIn], (seed += 3)).data, batch, tokens };
  try {
    for (const returnAttentionWeights of [true, false]) {
      const opts = { returnAttentionWeights, trace: true };
      const from = pool.sent.length;
      const want = single.forward(input, opts);
      const got = await threaded.forward(input, opts);
      expectSameBits(got.output, want.output, 'output');
      expectSameBits(got.attentionWeights, want.attentionWeights, 'attention weights');
      expect(got.trace).toEqual(want.trace);
      // The comparison is only meaningful if workers really computed a share of every phase.
      const phases = phasesSentSince(pool.sent, from);
      if (batch * tokens > 8) expect(phases.has('qkv'), 'a worker projected q|k|v rows').toBe(true);
      if (batch * cfg.heads > 1) expect(phases.has('attention'), 'a worker ran attention heads').toBe(true);
      if (batch * tokens > 8 && cfg.outProj) expect(phases.has('output'), 'a worker projected output rows').toBe(true);
    }
  } finally {
    threaded.dispose();
  }
}

describe('threaded module kernel: bit-identical to the single-threaded kernel', () => {
  const shapes = [
    { name: 'odd sizes', dIn: 7, heads: 3, headDim: 5, batch: 2, tokens: 11 },
    { name: 'headDim 1', dIn: 5, heads: 4, headDim: 1, batch: 2, tokens: 9 },
    { name: 'one head, B3', dIn: 10, heads: 1, headDim: 8, batch: 3, tokens: 8 },
    { name: 'T 1, B 3', dIn: 6, heads: 2, headDim: 3, batch: 3, tokens: 1 },
    { name: 'wide head', dIn: 12, heads: 2, headDim: 17, batch: 1, tokens: 17 },
    { name: 'GPT-2 head size, 12 heads', dIn: 96, heads: 12, headDim: 64, batch: 2, tokens: 37 },
  ];
  for (const sh of shapes)
    for (const causal of [false, true])
      for (const qkvBias of [false, true])
        for (const out of ['none', 'bias', 'no-bias'] as const) {
          const config = { dIn: sh.dIn, heads: sh.heads, headDim: sh.headDim, causal, qkvBias, outProj: out !== 'none', outProjBias: out === 'bias' };
          it(`${sh.name}: B${sh.batch} T${sh.tokens} dIn${sh.dIn} ${sh.heads}x${sh.headDim} causal=${causal} qkvBias=${qkvBias} outProj=${out}`, async () => {
            const { cfg, weights } = setup(config);
            await expectIdentical(cfg, weights, sh.batch, sh.tokens, two);
          });
        }

  it('with 3 threads (uneven shares: 5 heads, 3 row blocks)', async () => {
    const { cfg, weights } = setup({ dIn: 20, heads: 5, headDim: 4, causal: true, qkvBias: true });
    await expectIdentical(cfg, weights, 1, 23, three);
  });

  it('with 3 threads, non-causal, B 4', async () => {
    const { cfg, weights } = setup({ dIn: 16, heads: 2, headDim: 8, causal: false, outProj: true, outProjBias: true });
    await expectIdentical(cfg, weights, 4, 13, three);
  });

  it('a scale override', async () => {
    const { cfg, weights } = setup({ dIn: 8, heads: 2, headDim: 4, causal: true, scale: 0.9 });
    await expectIdentical(cfg, weights, 2, 12, two);
  });
});

describe('threaded module kernel: sharing and scheduling', () => {
  it('posts the packed weights once per module and worker, on shared memory; tasks carry shared buffers only', async () => {
    const { cfg, weights } = setup({ dIn: 16, heads: 2, headDim: 8, causal: true, qkvBias: true });
    const { pool, sent } = recordingPool(2);
    try {
      const k = createThreadedModuleKernel(cfg, weights, { pool, retainScratch: true, minWorkPerThread: 0 });
      const input = { x: randomTensor([2, 24, 16], 1).data, batch: 2, tokens: 24 };
      for (let i = 0; i < 3; i++) await k.forward(input, { returnAttentionWeights: i === 0, trace: false });
      const registers = sent.filter((s) => s.message.kind === 'register');
      expect(registers.map((s) => s.worker).sort()).toEqual([0, 1]);
      for (const { message } of registers) {
        if (message.kind !== 'register') continue;
        expect(message.packed.wqkv.data.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(message.packed.wo!.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      }
      const tasks = sent.flatMap((s) => (s.message.kind === 'task' ? [s.message] : []));
      expect(tasks.length).toBeGreaterThanOrEqual(3 * 3 * 2 - 2);
      for (const t of tasks) {
        for (const a of [t.buffers.x, t.buffers.qkv, t.buffers.merged, t.buffers.output]) expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(Object.keys(t).sort()).toEqual(['buffers', 'end', 'job', 'kind', 'module', 'phase', 'start']);
      }
      k.dispose();
      expect(sent.filter((s) => s.message.kind === 'unregister').map((s) => s.worker).sort()).toEqual([0, 1]);
    } finally {
      await pool.dispose();
    }
  });

  it('runs 40 concurrent forwards of different sizes exactly like sequential ones', async () => {
    const { cfg, weights } = setup({ dIn: 24, heads: 3, headDim: 8, causal: true, qkvBias: true });
    const single = createModuleKernel(cfg, weights, { retainScratch: true });
    const k = createThreadedModuleKernel(cfg, weights, { pool: two.pool, retainScratch: true, minWorkPerThread: 0 });
    const inputs = Array.from({ length: 40 }, (_, i) => ({ x: randomTensor([1 + (i % 3), 3 + ((i * 7) % 29), 24], 500 + i).data, batch: 1 + (i % 3), tokens: 3 + ((i * 7) % 29) }));
    const opts = (i: number) => ({ returnAttentionWeights: i % 4 === 0, trace: false });
    const got = await Promise.all(inputs.map((x, i) => k.forward(x, opts(i))));
    inputs.forEach((x, i) => {
      const want = single.forward(x, opts(i));
      expectSameBits(got[i]!.output, want.output, `call ${i} output`);
      expectSameBits(got[i]!.attentionWeights, want.attentionWeights, `call ${i} weights`);
    });
    k.dispose();
  });

  it('two modules on one pool, interleaved, keep their own weights', async () => {
    const a = setup({ dIn: 16, heads: 4, headDim: 4, causal: true });
    const b = setup({ dIn: 16, heads: 4, headDim: 4, causal: true });
    const ka = createThreadedModuleKernel(a.cfg, a.weights, { pool: two.pool, retainScratch: false, minWorkPerThread: 0 });
    const kb = createThreadedModuleKernel(b.cfg, b.weights, { pool: two.pool, retainScratch: false, minWorkPerThread: 0 });
    const input = { x: randomTensor([2, 20, 16], 3).data, batch: 2, tokens: 20 };
    const opts = { returnAttentionWeights: false, trace: false };
    const [ya, yb] = await Promise.all([ka.forward(input, opts), kb.forward(input, opts)]);
    expectSameBits(ya.output, createModuleKernel(a.cfg, a.weights, { retainScratch: false }).forward(input, opts).output, 'module a');
    expectSameBits(yb.output, createModuleKernel(b.cfg, b.weights, { retainScratch: false }).forward(input, opts).output, 'module b');
    ka.dispose();
    // The other module still works after its sibling was disposed.
    expectSameBits((await kb.forward(input, opts)).output, yb.output, 'module b after a was disposed');
    kb.dispose();
  });

  it('returns ordinary (unshared) arrays', async () => {
    const { cfg, weights } = setup({ dIn: 8, heads: 2, headDim: 4 });
    const k = createThreadedModuleKernel(cfg, weights, { pool: two.pool, retainScratch: true, minWorkPerThread: 0 });
    const r = await k.forward({ x: randomTensor([1, 16, 8], 1).data, batch: 1, tokens: 16 }, { returnAttentionWeights: true, trace: false });
    expect(r.output.buffer).toBeInstanceOf(ArrayBuffer);
    expect(r.attentionWeights!.buffer).toBeInstanceOf(ArrayBuffer);
    k.dispose();
  });

  it('keeps small phases on the calling thread and starts no worker for them (minWorkPerThread)', async () => {
    const { cfg, weights } = setup({ dIn: 8, heads: 2, headDim: 4, causal: true });
    const { pool, sent } = recordingPool(1);
    const k = createThreadedModuleKernel(cfg, weights, { pool, retainScratch: true, minWorkPerThread: 1e9 });
    const input = { x: randomTensor([2, 16, 8], 2).data, batch: 2, tokens: 16 };
    const r = await k.forward(input, { returnAttentionWeights: false, trace: false });
    expect(sent).toEqual([]); // not even an 'init': no worker was started
    expectSameBits(r.output, createModuleKernel(cfg, weights, { retainScratch: true }).forward(input, { returnAttentionWeights: false, trace: false }).output, 'output');
    k.dispose();
    await pool.dispose();
  });

  it('throws when used after dispose', async () => {
    const { cfg, weights } = setup({ dIn: 4, heads: 1, headDim: 4 });
    const k = createThreadedModuleKernel(cfg, weights, { pool: two.pool, retainScratch: true, minWorkPerThread: 0 });
    k.dispose();
    await expect(k.forward({ x: new Float32Array(4), batch: 1, tokens: 1 }, { returnAttentionWeights: false, trace: false })).rejects.toThrow(/after dispose/);
  });
});
