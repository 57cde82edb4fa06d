import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initWeights, MhaErrorCode, randomTensor, resolveConfig } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { packModule, type ForwardBuffers } from './forward-phases.js';
import { createModuleKernel } from './module-kernel.js';
import { createThreadedModuleKernel } from './threaded-module-kernel.js';
import { BUILT_WORKER, expectSameBits, recordingPool } from './test-support/threads.js';

// Stand-in worker scripts that misbehave in one specific way each.
const dir = mkdtempSync(join(tmpdir(), 'mha-ts-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function script(name: string, code: string): URL {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, code);
  return pathToFileURL(file);
}
const THROWS_AT_LOAD = script('throws-at-load', `throw new Error('boom while loading');\n`);
const EXITS_ON_TASK = script(
  'exits-on-task',
  `import { parentPort } from 'node:worker_threads';\nparentPort.on('message', (m) => { if (m.kind === 'task') process.exit(3); });\n`,
);
const THROWS_ON_TASK = script(
  'throws-on-task',
  `import { parentPort } from 'node:worker_threads';\nparentPort.on('message', (m) => { if (m.kind === 'task') throw new Error('uncaught in the worker'); });\n`,
);
const SAYS_NONSENSE = script('says-nonsense', `import { parentPort } from 'node:worker_threads';\nparentPort.on('message', (m) => { if (m.kind === 'task') parentPort.postMessage({ kind: 'fatal', message: 'confused' }); });\n`);

const cfg = resolveConfig({ dIn: 16, heads: 2, headDim: 8, causal: true, qkvBias: true });
const weights = initWeights(cfg, 3);
const input = { x: randomTensor([2, 24, 16], 4).data, batch: 2, tokens: 24 };
const opts = { returnAttentionWeights: false, trace: false };
const expected = createModuleKernel(cfg, weights, { retainScratch: true }).forward(input, opts).output;

// No per-call time limits here (a loaded machine can be slow without being wrong): a rejection that
// turned into a hang is caught by vitest's testTimeout (vitest.config.ts), a hang guard only.

/** The MhaError a worker failure must reject with. */
function unavailable(detail: RegExp) {
  return expect.objectContaining({ name: 'MhaError', code: MhaErrorCode.BackendUnavailable, field: 'worker', value: 1, message: expect.stringMatching(detail) });
}

describe('worker failures surface as rejections, never hangs', () => {
  const cases = [
    { name: 'a worker script that throws while loading', entry: THROWS_AT_LOAD, error: /ts-threads: worker 1 stopped: boom while loading/ },
    { name: 'a worker that exits during a task', entry: EXITS_ON_TASK, error: /ts-threads: worker 1 stopped: the worker thread exited unexpectedly \(exit code 3\)/ },
    { name: 'an uncaught error in a worker', entry: THROWS_ON_TASK, error: /ts-threads: worker 1 stopped: uncaught in the worker/ },
    { name: 'a worker that reports a fatal error', entry: SAYS_NONSENSE, error: /ts-threads: worker 1 stopped: confused/ },
  ];
  for (const c of cases) {
    it(`${c.name}: the forward rejects; the next forward gets fresh workers and the right result`, async () => {
      let starts = 0;
      const { pool } = recordingPool(1, () => (starts++ === 0 ? c.entry : BUILT_WORKER));
      const k = createThreadedModuleKernel(cfg, weights, { pool, retainScratch: true, minWorkPerThread: 0 });
      try {
        await expect(k.forward(input, opts)).rejects.toEqual(unavailable(c.error));
        const r = await (k.forward(input, opts));
        expectSameBits(r.output, expected, 'output after recovery');
        expect(starts).toBe(2);
      } finally {
        k.dispose();
        await pool.dispose();
      }
    });
  }

  it('an error thrown inside a task rejects that forward only, naming the phase; the worker keeps serving', async () => {
    const { pool } = recordingPool(1);
    try {
      const packed = packModule(cfg, weights, (n) => new Float64Array(new SharedArrayBuffer(n * 8)));
      const broken = { batch: 1, tokens: 8 } as unknown as ForwardBuffers; // no arrays: the phase throws
      const module = { id: 0, packed };
      module.id = pool.addModule(module, packed);
      await expect(pool.run(0, module, { phase: 'qkv', start: 0, end: 8, buffers: broken })).rejects.toThrow(
        /ts-threads: worker 1 failed in the qkv phase: .+/,
      );
      const k = createThreadedModuleKernel(cfg, weights, { pool, retainScratch: true, minWorkPerThread: 0 });
      expectSameBits((await (k.forward(input, opts))).output, expected, 'output from the same worker afterwards');
      k.dispose();
    } finally {
      await pool.dispose();
    }
  });

  it('workers that cannot be started: the forward runs on the calling thread (same bits), the pool says why, and retries next time', async () => {
    let attempts = 0;
    const { WorkerPool } = await import('./worker-pool.js');
    const pool = new WorkerPool(
      1,
      () => {
        attempts++;
        return Promise.reject(new Error('no worker_threads here'));
      },
      true,
    );
    const k = createThreadedModuleKernel(cfg, weights, { pool, retainScratch: true, minWorkPerThread: 0 });
    expectSameBits((await k.forward(input, opts)).output, expected, 'output without workers');
    expect(pool.unavailable).toMatch(/worker threads could not be started: no worker_threads here/);
    expectSameBits((await k.forward(input, opts)).output, expected, 'output without workers, again');
    expect(attempts).toBe(2);
    expect(pool.diagnostics().workers).toBe(0);
    k.dispose();
    await pool.dispose();
  });

  it('a worker constructor that throws (e.g. Node refusing new threads): same fallback; a later success clears the reason', async () => {
    const { WorkerPool } = await import('./worker-pool.js');
    const { nodeWorkerSpawner } = await import('./worker-host-node.js');
    let refuse = true;
    const real = await nodeWorkerSpawner(BUILT_WORKER);
    const pool = new WorkerPool(
      1,
      async () => (listener) => {
        if (refuse) throw Object.assign(new Error('ERR_WORKER_INIT_FAILED: too many threads'), { code: 'ERR_WORKER_INIT_FAILED' });
        return real(listener);
      },
      true,
    );
    const k = createThreadedModuleKernel(cfg, weights, { pool, retainScratch: true, minWorkPerThread: 0 });
    try {
      expectSameBits((await k.forward(input, opts)).output, expected, 'output while workers are refused');
      expect(pool.unavailable).toMatch(/too many threads/);
      refuse = false;
      expectSameBits((await k.forward(input, opts)).output, expected, 'output once workers start');
      expect(pool.unavailable).toBeUndefined();
      expect(pool.diagnostics()).toMatchObject({ workers: 1, workerModules: 1 });
    } finally {
      k.dispose();
      await pool.dispose();
    }
  });
});

describe('worker pool lifecycle', () => {
  it('dispose() lets tasks in flight finish, then stops the workers; a later task starts new ones', async () => {
    let starts = 0;
    const { pool, sent } = recordingPool(1, () => {
      starts++;
      return BUILT_WORKER;
    });
    const k = createThreadedModuleKernel(cfg, weights, { pool, retainScratch: true, minWorkPerThread: 0 });
    const running = k.forward(input, opts);
    // Dispose exactly while the worker holds a task: its answer must still arrive.
    while (!sent.some((s) => s.message.kind === 'task')) await new Promise((r) => setTimeout(r, 0));
    const disposed = pool.dispose();
    expectSameBits((await (running)).output, expected, 'forward that was running during dispose');
    await (disposed);
    expectSameBits((await (k.forward(input, opts))).output, expected, 'forward after dispose');
    expect(starts).toBe(2);
    k.dispose();
    await pool.dispose();
    await pool.dispose(); // idempotent
  });

  it('a second dispose() while the first is stopping the workers resolves only after they have stopped', async () => {
    const stopped: number[] = [];
    const { WorkerPool } = await import('./worker-pool.js');
    const { nodeWorkerSpawner } = await import('./worker-host-node.js');
    const real = await nodeWorkerSpawner(BUILT_WORKER);
    let n = 0;
    const pool = new WorkerPool(
      2,
      async () => (listener) => {
        const id = n++;
        const link = real(listener);
        return { ...link, terminate: () => link.terminate().then(() => void stopped.push(id)) };
      },
      true,
    );
    expect(await pool.start()).toBe(true);
    const first = pool.dispose();
    await pool.dispose();
    expect(stopped.sort()).toEqual([0, 1]);
    await first;
    expect(pool.diagnostics().workers).toBe(0);
  });

  it('dispose() of a pool that never started does nothing', async () => {
    const { pool, sent } = recordingPool(3);
    await pool.dispose();
    expect(sent).toEqual([]);
  });
});
