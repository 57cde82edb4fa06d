import type { FromWorker } from './thread-protocol.js';
import type { SpawnWorker } from './worker-host.js';

/**
 * The worker script, beside this module in `dist`. Held in a constant (not a literal in `new URL`) so
 * that bundlers for the browser do not pick the Node worker up as an asset.
 */
const NODE_WORKER_ENTRY = './worker-node.js';

/** The module specifier, also kept out of a literal `import()` so browser bundlers do not resolve it. */
const WORKER_THREADS = 'node:worker_threads';

/**
 * Worker host on Node's `worker_threads` (imported here, dynamically). `entry` is the worker script,
 * `worker-node.js` by default; tests pass others.
 */
export async function nodeWorkerSpawner(entry: URL = new URL(NODE_WORKER_ENTRY, import.meta.url)): Promise<SpawnWorker> {
  const { Worker } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ WORKER_THREADS)) as typeof import('node:worker_threads');
  return (listener) => {
    const worker = new Worker(entry, { execArgv: workerExecArgv(process.execArgv) });
    let stopping = false;
    worker.unref(); // idle until it is given work (see WorkerLink.setBusy)
    worker.on('message', (message: FromWorker) => listener.message(message));
    worker.on('error', (error: unknown) => listener.failure(error instanceof Error ? error : new Error(String(error))));
    worker.on('messageerror', (error: Error) => listener.failure(error));
    worker.on('exit', (code: number) => {
      if (!stopping) listener.failure(new Error(`the worker thread exited unexpectedly (exit code ${code})`));
    });
    return {
      post: (message) => worker.postMessage(message),
      setBusy: (busy) => (busy ? worker.ref() : worker.unref()),
      async terminate() {
        stopping = true;
        await worker.terminate();
      },
    };
  };
}

/**
 * The parent's Node options for a worker, minus `--input-type`: it describes how the main script is
 * read (`node --input-type=module -e ...`) and Node refuses to start a worker that inherits it.
 * Everything else (loaders, `--conditions`, ...) is kept, as it may be needed to resolve `@mha/core`.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '--input-type') i++; // its value is the next argument
    else if (!arg.startsWith('--input-type=')) kept.push(arg);
  }
  return kept;
}
