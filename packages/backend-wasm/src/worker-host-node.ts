import type { Spawn } from './thread-pool.js';

/** Node's `worker_threads`, imported on demand and kept out of literals that bundlers follow. */
const WORKER_THREADS = 'node:worker_threads';
/** The worker script, beside this module in `dist`; in a constant so bundlers do not take it as an asset. */
const NODE_ENTRY = './worker-node.js';

/** Worker host on Node's `worker_threads` (what `#worker-host-node` resolves to outside browser bundles). */
export async function nodeWorkerSpawner(): Promise<Spawn> {
  const { Worker } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ WORKER_THREADS)) as typeof import('node:worker_threads');
  const entry = new URL(NODE_ENTRY, import.meta.url);
  const parentArgv = process.execArgv;
  // A worker inherits the parent's options (V8 flags included) by default; only `--input-type` (from
  // `node --input-type=module -e`) makes an inheriting worker fail, so only then is a list given, and
  // Node refuses a list holding V8 flags: then the worker gets none (it needs none).
  const start = (): import('node:worker_threads').Worker => {
    if (!parentArgv.some((a) => a.startsWith('--input-type'))) return new Worker(entry);
    try {
      return new Worker(entry, { execArgv: parentArgv.filter((a, i) => !a.startsWith('--input-type') && parentArgv[i - 1] !== '--input-type') });
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
      return new Worker(entry, { execArgv: [] });
    }
  };
  return (onMessage, onFailure) => {
    const w = start();
    let stopping = false;
    w.unref();
    w.on('message', onMessage);
    w.on('error', (e: unknown) => onFailure(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code: number) => stopping || onFailure(new Error(`the worker thread exited unexpectedly (exit code ${code})`)));
    return {
      post: (m) => w.postMessage(m),
      setBusy: (busy) => (busy ? w.ref() : w.unref()),
      async terminate() {
        stopping = true;
        await w.terminate();
      },
    };
  };
}
