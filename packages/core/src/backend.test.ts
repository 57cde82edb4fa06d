import { describe, expect, it, vi } from 'vitest';
import { defineBackend, type BackendDefinition } from './backend.js';
import { resolveConfig } from './config.js';
import { isMhaError, MhaErrorCode } from './errors.js';
import { initWeights, randomTensor } from './init.js';
import { expectedTrace } from './trace.js';

function fake(overrides: Partial<BackendDefinition> = {}) {
  const forward = vi.fn((input: { batch: number; tokens: number }, opts: { trace: boolean }) => ({
    output: new Float32Array(input.batch * input.tokens * 4),
    attentionWeights: new Float32Array(input.batch * 2 * input.tokens * input.tokens),
    trace: opts.trace ? expectedTrace(resolveConfig(cfg), input.batch, input.tokens) : undefined,
  }));
  const dispose = vi.fn();
  const backend = defineBackend({
    name: 'fake',
    runtimes: ['node'],
    capabilities: [],
    createKernel: () => ({ forward, dispose }),
    attention: (a) => ({ output: new Float32Array(a.batch * a.qHeads * a.tq * a.dv), weights: new Float32Array(a.batch * a.qHeads * a.tq * a.tk) }),
    ...overrides,
  });
  return { backend, forward, dispose };
}
const cfg = { dIn: 3, heads: 2, headDim: 2 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isMhaError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

describe('defineBackend', () => {
  it('never calls the kernel for empty inputs and returns shaped empties', async () => {
    const { backend, forward } = fake();
    const m = await backend.createModule(cfg, initWeights(resolveConfig(cfg), 1));
    const r = await m.forward(randomTensor([0, 5, 3], 1), { returnAttentionWeights: true });
    expect(r.output.shape).toEqual([0, 5, 4]);
    expect(r.attentionWeights!.shape).toEqual([0, 2, 5, 5]);
    expect(forward).not.toHaveBeenCalled();
  });
  it('refuses a kernel output of the wrong size as a backend contract error', async () => {
    const { backend } = fake({ createKernel: () => ({ forward: () => ({ output: new Float32Array(3) }) }) });
    const m = await backend.createModule(cfg, initWeights(resolveConfig(cfg), 1));
    expect(await codeOf(m.forward(randomTensor([1, 2, 3], 1)))).toBe(MhaErrorCode.BackendContract);
  });
  it('copies weights so later mutation by the caller cannot change the module', async () => {
    let seen: Float32Array | undefined;
    const { backend } = fake({
      createKernel: (_c, w) => {
        seen = w.wq;
        return { forward: () => ({ output: new Float32Array(0) }) };
      },
    });
    const w = initWeights(resolveConfig(cfg), 1);
    await backend.createModule(cfg, w);
    w.wq[0] = 123;
    expect(seen![0]).not.toBe(123);
  });
  it('dispose is idempotent, frees once, and forward afterwards is MHA_DISPOSED', async () => {
    const { backend, dispose } = fake();
    const m = await backend.createModule(cfg, initWeights(resolveConfig(cfg), 1));
    await m.dispose();
    await m.dispose();
    expect(dispose).toHaveBeenCalledTimes(1);
    expect(m.disposed).toBe(true);
    expect(await codeOf(m.forward(randomTensor([1, 2, 3], 1)))).toBe(MhaErrorCode.Disposed);
  });
  it('dispose waits for forwards still running before freeing the kernel', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { backend } = fake({
      createKernel: () => ({
        forward: async (input) => {
          await gate;
          order.push('forward done');
          return { output: new Float32Array(input.batch * input.tokens * 4) };
        },
        dispose: () => {
          order.push('kernel freed');
        },
      }),
    });
    const m = await backend.createModule(cfg, initWeights(resolveConfig(cfg), 1));
    const running = m.forward(randomTensor([1, 2, 3], 1));
    const disposing = m.dispose();
    release();
    await Promise.all([running, disposing]);
    expect(order).toEqual(['forward done', 'kernel freed']);
  });
  it('refuses capabilities the backend did not declare', async () => {
    const { backend } = fake();
    expect(await codeOf(backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 3, 4], 2), randomTensor([1, 1, 3, 4], 3)))).toBe(MhaErrorCode.Unsupported);
  });
  it('core op with no keys returns zeros without calling the kernel', async () => {
    const attention = vi.fn();
    const { backend } = fake({ capabilities: ['cross-attention'], attention });
    const r = await backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 0, 4], 2), randomTensor([1, 1, 0, 4], 3), { returnWeights: true });
    expect(Array.from(r.output.data)).toEqual(new Array(8).fill(0));
    expect(r.weights!.shape).toEqual([1, 1, 2, 0]);
    expect(attention).not.toHaveBeenCalled();
  });
});
