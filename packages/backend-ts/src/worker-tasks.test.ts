import { initWeights, randomTensor, resolveConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { packModule, phaseUnits, type ForwardBuffers } from './forward-phases.js';
import { createModuleKernel } from './module-kernel.js';
import { SYNC_DONE, type FromWorker, type ToWorker } from './thread-protocol.js';
import { createTaskHandler } from './worker-tasks.js';

// The worker-side handler, driven in this thread: the protocol without the threads.
describe('createTaskHandler', () => {
  const cfg = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true, qkvBias: true });
  const weights = initWeights(cfg, 5);
  const packed = packModule(cfg, weights);
  const B = 2;
  const T = 9;
  const buffers = (): ForwardBuffers => ({
    batch: B,
    tokens: T,
    x: randomTensor([B, T, 8], 6).data,
    qkv: new Float64Array(B * T * 24),
    merged: new Float64Array(B * T * 8),
    output: new Float32Array(B * T * 8),
    weights: undefined,
  });

  function handler() {
    const answers: FromWorker[] = [];
    const sync = new Int32Array(new SharedArrayBuffer(8));
    return { answers, sync, handle: createTaskHandler((m) => answers.push(m)) };
  }

  it('runs the phases it is sent, after init and register, like the single-threaded kernel', () => {
    const { answers, sync, handle } = handler();
    handle({ kind: 'init', retainScratch: false, sync });
    handle({ kind: 'register', module: 7, packed });
    const buf = buffers();
    let job = 0;
    for (const phase of ['qkv', 'attention', 'output'] as const) handle({ kind: 'task', job: ++job, module: 7, phase, start: 0, end: phaseUnits(packed, buf, phase), buffers: buf });
    expect(answers).toEqual([1, 2, 3].map((j) => ({ kind: 'done', job: j })));
    expect(Atomics.load(sync, SYNC_DONE)).toBe(3);
    const want = createModuleKernel(cfg, weights, { retainScratch: false }).forward({ x: buf.x, batch: B, tokens: T }, { returnAttentionWeights: false, trace: false });
    expect(Array.from(buf.output)).toEqual(Array.from(want.output));
  });

  it('answers "failed" for a task before init, for an unknown or unregistered module, and when the phase throws', () => {
    const { answers, sync, handle } = handler();
    const task = (job: number, module: number, buffers: ForwardBuffers): ToWorker => ({ kind: 'task', job, module, phase: 'qkv', start: 0, end: 8, buffers });
    handle(task(1, 7, buffers()));
    handle({ kind: 'init', retainScratch: true, sync });
    handle(task(2, 7, buffers()));
    handle({ kind: 'register', module: 7, packed });
    handle(task(3, 7, { batch: B, tokens: T } as ForwardBuffers));
    handle({ kind: 'unregister', module: 7 });
    handle(task(4, 7, buffers()));
    expect(answers.map((a) => a.kind)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(answers.map((a) => (a.kind === 'failed' ? a.message : ''))).toEqual([
      'task before init',
      'module 7 is not registered with this worker',
      expect.any(String),
      'module 7 is not registered with this worker',
    ]);
  });

  it('answers "fatal" to a message it does not know', () => {
    const { answers, handle } = handler();
    handle({ kind: 'reboot' } as unknown as ToWorker);
    expect(answers).toEqual([{ kind: 'fatal', message: 'unknown message "reboot"' }]);
  });
});
