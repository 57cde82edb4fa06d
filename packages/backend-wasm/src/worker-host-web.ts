import type { FromWorker } from './thread-protocol.js';
import type { Spawn } from './thread-pool.js';

/** The part of the Web `Worker` API this host uses (the package compiles without DOM types). */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: { readonly data: FromWorker }) => void) | null;
  onerror: ((event: { readonly message?: string; preventDefault(): void }) => void) | null;
  onmessageerror: (() => void) | null;
}

declare const Worker: new (url: URL, options: { type: 'module' }) => WebWorker;

/**
 * Worker host on Web Workers (browsers, Deno, Bun). The
 * `new Worker(new URL('./worker-web.js', import.meta.url), { type: 'module' })` form is kept literal
 * (no alias of `Worker`) because Vite, webpack 5 and Rollup (with its URL plugin) recognise exactly that
 * and emit the worker script, with its imports, beside the app. esbuild leaves it as it is, so the
 * script must be built beside the bundle (`@mha/backend-wasm/worker-web` as an entry point named
 * `worker-web.js`) or under another name given as `workerUrl`.
 */
export function webWorkerSpawner(workerUrl?: string): Spawn {
  return (onMessage, onFailure) => {
    const given = workerUrl === undefined ? undefined : new URL(workerUrl, (globalThis as { location?: { href?: string } }).location?.href);
    const worker = given === undefined ? new Worker(new URL('./worker-web.js', import.meta.url), { type: 'module' }) : new Worker(given, { type: 'module' });
    const url = String(given ?? new URL('./worker-web.js', import.meta.url));
    worker.onmessage = (event) => onMessage(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      onFailure(new Error(workerLoadError(url, event.message)));
    };
    worker.onmessageerror = () => onFailure(new Error('a message from the worker could not be deserialised'));
    return { post: (m) => worker.postMessage(m), setBusy: () => {}, terminate: async () => worker.terminate() };
  };
}

/** The failure of the worker at `url`, naming it and the two ways to make it load. */
export function workerLoadError(url: string, message: string | undefined): string {
  return (
    `the worker script ${url} failed to load or threw${message ? ` (${message})` : ''}. ` +
    'With esbuild, build @mha/backend-wasm/worker-web as an entry point beside your bundle (named worker-web.js, ' +
    'or any name passed as createWasmBackend({ threads, workerUrl }))'
  );
}
