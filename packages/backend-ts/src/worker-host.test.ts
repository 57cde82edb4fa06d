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

describe('webWorkerSpawner (worker script location)', () => {
  /** A stand-in for the Web Worker constructor: records the URL and fails like a 404'd script. */
  function fakeWorker() {
    const made: { url: string; worker: { onerror: ((e: { message?: string; preventDefault(): void }) => void) | null } }[] = [];
    class FakeWorker {
      onmessage = null;
      onerror: ((e: { message?: string; preventDefault(): void }) => void) | null = null;
      onmessageerror = null;
      constructor(url: URL) {
        made.push({ url: String(url), worker: this });
      }
      postMessage() {}
      terminate() {}
    }
    return { made, FakeWorker };
  }

  it('names the URL of a worker script that failed to load, and how to make it load', async () => {
    const { made, FakeWorker } = fakeWorker();
    const saved = (globalThis as { Worker?: unknown }).Worker;
    (globalThis as { Worker?: unknown }).Worker = FakeWorker;
    try {
      const { webWorkerSpawner } = await import('./worker-host-web.js');
      const failures: Error[] = [];
      webWorkerSpawner()({ message: () => {}, failure: (e) => failures.push(e) });
      webWorkerSpawner('https://example.test/assets/mha-worker.js')({ message: () => {}, failure: (e) => failures.push(e) });
      expect(made.map((m) => m.url)).toEqual([new URL('./worker-web.js', import.meta.url).href, 'https://example.test/assets/mha-worker.js']);
      for (const m of made) m.worker.onerror?.({ preventDefault() {} });
      expect(failures[0]?.message).toContain(`the worker script ${new URL('./worker-web.js', import.meta.url).href} failed to load`);
      expect(failures[0]?.message).toMatch(/@mha\/backend-ts\/worker-web as an entry point named worker-web\.js.*workerUrl/);
      expect(failures[1]?.message).toContain('the worker script https://example.test/assets/mha-worker.js failed to load');
    } finally {
      (globalThis as { Worker?: unknown }).Worker = saved;
    }
  });
});

describe('nodeWorkerSpawner (worker script location)', () => {
  it('runs the package export @mha/backend-ts/worker-node, and workerUrl reaches the Node host', async () => {
    expect(import.meta.resolve('@mha/backend-ts/worker-node')).toMatch(/\/dist\/worker-node\.js$/);
    const { loadWorkerSpawner } = await import('./worker-host.js');
    const url = 'data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.postMessage({ kind: "custom" });';
    const spawn = await loadWorkerSpawner('node', url);
    const got = await new Promise((resolve, reject) => {
      const link = spawn({ message: (m) => void link.terminate().then(() => resolve(m)), failure: reject });
      link.setBusy(true);
    });
    expect(got).toEqual({ kind: 'custom' });
  });
});
