import type { FromWorker, ToWorker } from './thread-protocol.js';

/** What a worker host reports about one worker. */
export interface WorkerListener {
  message(message: FromWorker): void;
  /** The worker cannot go on (script failed to load, uncaught error, unexpected exit). */
  failure(error: Error): void;
}

/** The main thread's handle on one worker, the same for Node and Web workers. */
export interface WorkerLink {
  post(message: ToWorker): void;
  /**
   * `true` while the worker has work in flight. Node: an idle worker is unref'd, so it never keeps the
   * process alive, and a busy one is ref'd, so the process waits for its answer. No-op for Web Workers.
   */
  setBusy(busy: boolean): void;
  /** Stops the worker; resolves once it has stopped. */
  terminate(): Promise<void>;
}

/** Starts one worker. */
export type SpawnWorker = (listener: WorkerListener) => WorkerLink;

/** Whether this runtime can run the threaded mode, and why not. */
export interface ThreadingSupport {
  readonly available: boolean;
  /** Why threads are unavailable (`undefined` when they are). */
  readonly reason: string | undefined;
  /** Which worker API would be used. */
  readonly host: 'node' | 'web' | undefined;
}

/** The globals the detection looks at, all optional. */
interface RuntimeGlobals {
  readonly SharedArrayBuffer?: unknown;
  readonly Atomics?: unknown;
  readonly crossOriginIsolated?: unknown;
  readonly Worker?: unknown;
  readonly process?: { readonly versions?: { readonly node?: unknown } };
}

/**
 * Decides, from globals only (nothing is loaded), whether worker threads with shared memory are
 * available: Node's `worker_threads` (also offered by Bun and Deno) when `process.versions.node` is
 * set, else Web Workers. Both need `SharedArrayBuffer`, which browsers expose only to cross-origin
 * isolated pages.
 */
export function threadingSupport(g: RuntimeGlobals = globalThis as RuntimeGlobals): ThreadingSupport {
  if (typeof g.SharedArrayBuffer !== 'function' || typeof g.Atomics !== 'object' || g.crossOriginIsolated === false) {
    return { available: false, host: undefined, reason: 'SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: COOP/COEP headers)' };
  }
  if (typeof g.process?.versions?.node === 'string') return { available: true, host: 'node', reason: undefined };
  if (typeof g.Worker === 'function') return { available: true, host: 'web', reason: undefined };
  return { available: false, host: undefined, reason: 'no worker API in this runtime (neither Node worker_threads nor Web Workers)' };
}

/**
 * Loads the worker glue of `host`. Each host lives in its own module and is imported on demand, so a
 * browser bundle never loads the Node glue and Node never loads the Web one: the Node glue is reached
 * through the package's `#worker-host-node` import, which bundlers resolve to an empty stand-in under
 * the `browser` condition. `workerUrl` overrides where the worker script is (see
 * `TsBackendOptions.workerUrl`).
 */
export async function loadWorkerSpawner(host: 'node' | 'web', workerUrl?: string): Promise<SpawnWorker> {
  if (host === 'node') return (await import('#worker-host-node')).nodeWorkerSpawner(workerUrl === undefined ? undefined : new URL(workerUrl));
  return (await import('./worker-host-web.js')).webWorkerSpawner(workerUrl);
}
