import type { FromWorker } from './thread-protocol.js';
import type { SpawnWorker } from './worker-host.js';

/**
 * The worker script, beside this module in `dist`. Held in a constant (not a literal in `new URL`) so
 * that bundlers do not pick the Node worker up as an asset.
 */
const NODE_WORKER_ENTRY = './worker-node.js';

/** The package's own export of that script, resolved at run time from wherever the code now lives. */
const NODE_WORKER_EXPORT = '@mha/backend-ts/worker-node';

/** Module specifiers, kept out of literal `import()`s so bundlers leave them to Node. */
const WORKER_THREADS = 'node:worker_threads';
const FS = 'node:fs';

/**
 * Worker host on Node's `worker_threads` (imported here, dynamically). `entry` is the worker script;
 * by default `worker-node.js` beside this module or, when this module was bundled into an app (the
 * script is not beside it), the installed package's `@mha/backend-ts/worker-node`.
 */
export async function nodeWorkerSpawner(entry?: URL): Promise<SpawnWorker> {
  const { Worker } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ WORKER_THREADS)) as typeof import('node:worker_threads');
  const script = entry ?? (await defaultEntry());
  return (listener) => {
    const worker = startWorker(Worker, script, process.execArgv);
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

/** `worker-node.js` beside this module if it is there, else the installed package's, else (to be named in the error) the former. */
async function defaultEntry(): Promise<URL> {
  // webpackIgnore: webpack would otherwise turn this URL into a module context that fails at run time
  // ("Cannot find module './worker-node.js'") instead of leaving it to the fallback below.
  const beside = new URL(/* webpackIgnore: true */ NODE_WORKER_ENTRY, import.meta.url);
  const { existsSync } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ FS)) as typeof import('node:fs');
  if (beside.protocol !== 'file:' || existsSync(beside)) return beside;
  try {
    return new URL(import.meta.resolve(NODE_WORKER_EXPORT));
  } catch {
    return beside;
  }
}

/**
 * Starts a worker with the parent's Node options where Node allows it. By default a worker inherits
 * them all, V8 and per-process flags included (`--max-old-space-size`, `--expose-gc`, `--stack-size`,
 * `--title`, ...); only `--input-type` (how the main script of `node --input-type=module -e ...` is
 * read) makes an inheriting worker fail, so only then is an explicit list passed, without it. Node
 * refuses an explicit list that holds a V8 or per-process flag (ERR_WORKER_INVALID_EXEC_ARGV): then
 * the worker starts with none, which it does not need (its scripts are plain ES modules with relative
 * imports).
 */
export function startWorker(Worker: typeof import('node:worker_threads').Worker, entry: URL, parentExecArgv: readonly string[]): import('node:worker_threads').Worker {
  const execArgv = workerExecArgv(parentExecArgv);
  if (execArgv === undefined) return new Worker(entry);
  try {
    return new Worker(entry, { execArgv });
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return new Worker(entry, { execArgv: [] });
  }
}

/**
 * The options to give a worker explicitly: `undefined` (inherit the parent's, Node's default) unless
 * they hold `--input-type`, which Node refuses in a worker; then the parent's options without it.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  if (!execArgv.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))) return undefined;
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '--input-type') i++; // its value is the next argument
    else if (!arg.startsWith('--input-type=')) kept.push(arg);
  }
  return kept;
}
