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

describe('workerExecArgv', () => {
  it('drops --input-type (both forms), which Node refuses in a worker, and keeps everything else', async () => {
    const { workerExecArgv } = await import('./worker-host-node.js');
    expect(workerExecArgv(['--input-type=module', '-e', 'x', '--conditions=dev'])).toEqual(['-e', 'x', '--conditions=dev']);
    expect(workerExecArgv(['--enable-source-maps', '--input-type', 'module', '--import', 'tsx'])).toEqual(['--enable-source-maps', '--import', 'tsx']);
    expect(workerExecArgv([])).toEqual([]);
  });
});
