import { describe, expect, it } from 'vitest';
import { threadingSupport } from './worker-host.js';

describe('threadingSupport', () => {
  const sab = { SharedArrayBuffer, Atomics };
  it('uses worker_threads in Node (and runtimes that present themselves as Node)', () => {
    expect(threadingSupport({ ...sab, process: { versions: { node: '20.20.0' } } })).toEqual({ available: true, host: 'node', reason: undefined });
    expect(threadingSupport()).toEqual({ available: true, host: 'node', reason: undefined });
  });

  it('uses Web Workers elsewhere, when the page is cross-origin isolated', () => {
    const Worker = function Worker() {};
    expect(threadingSupport({ ...sab, Worker, crossOriginIsolated: true })).toEqual({ available: true, host: 'web', reason: undefined });
    expect(threadingSupport({ ...sab, Worker })).toEqual({ available: true, host: 'web', reason: undefined });
  });

  it('falls back, with the reason, without SharedArrayBuffer or cross-origin isolation', () => {
    const Worker = function Worker() {};
    for (const g of [{ Worker, Atomics }, { Worker, ...sab, crossOriginIsolated: false }, { process: { versions: { node: '20' } }, SharedArrayBuffer }]) {
      const s = threadingSupport(g);
      expect(s.available).toBe(false);
      expect(s.host).toBeUndefined();
      expect(s.reason).toMatch(/SharedArrayBuffer is unavailable.*cross-origin isolated/);
    }
  });

  it('falls back, with the reason, without any worker API (edge runtimes)', () => {
    const s = threadingSupport({ ...sab });
    expect(s).toEqual({ available: false, host: undefined, reason: expect.stringMatching(/no worker API/) });
  });
});

describe('workerExecArgv / startWorker', () => {
  it('inherits the parent options (undefined) unless they hold --input-type, which it then drops (both forms)', async () => {
    const { workerExecArgv } = await import('./worker-host-node.js');
    expect(workerExecArgv(['--input-type=module', '-e', 'x', '--conditions=dev'])).toEqual(['-e', 'x', '--conditions=dev']);
    expect(workerExecArgv(['--enable-source-maps', '--input-type', 'module', '--import', 'tsx'])).toEqual(['--enable-source-maps', '--import', 'tsx']);
    expect(workerExecArgv(['--max-old-space-size=512', '--expose-gc'])).toBeUndefined();
    expect(workerExecArgv([])).toBeUndefined();
  });

  it('starts a worker when the parent had --input-type beside flags Node refuses in a worker execArgv', async () => {
    const { Worker } = await import('node:worker_threads');
    const { startWorker } = await import('./worker-host-node.js');
    const entry = new URL('data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.postMessage(process.execArgv);');
    for (const parent of [['--input-type=module', '--max-old-space-size=512', '--expose-gc'], ['--input-type', 'module', '--stack-size=2000', '--conditions=dev']]) {
      const w = startWorker(Worker, entry, parent);
      const argv = await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      await w.terminate();
      expect(argv, parent.join(' ')).toEqual([]);
    }
  });
});
