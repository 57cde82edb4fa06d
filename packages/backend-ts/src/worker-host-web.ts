import type { FromWorker } from './thread-protocol.js';
import type { SpawnWorker } from './worker-host.js';

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
 * Worker host on Web Workers (browsers, and Deno/Bun when used without Node compatibility). The
 * `new Worker(new URL('./worker-web.js', import.meta.url), { type: 'module' })` form is kept literal
 * because Vite, webpack 5 and Rollup (with its URL plugin) recognise exactly that and emit the worker
 * script with the app. esbuild leaves it as it is, so the script must sit beside the bundle (build
 * `@mha/backend-ts/worker-web` as an entry point named `worker-web.js`) or be given as `workerUrl`.
 */
export function webWorkerSpawner(workerUrl?: string): SpawnWorker {
  return (listener) => {
    const given = workerUrl === undefined ? undefined : new URL(workerUrl, (globalThis as { location?: { href?: string } }).location?.href);
    const worker = given === undefined ? new Worker(new URL('./worker-web.js', import.meta.url), { type: 'module' }) : new Worker(given, { type: 'module' });
    const url = String(given ?? new URL('./worker-web.js', import.meta.url));
    worker.onmessage = (event) => listener.message(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      listener.failure(new Error(workerLoadError(url, event.message)));
    };
    worker.onmessageerror = () => listener.failure(new Error('a message from the worker could not be deserialised'));
    return {
      post: (message) => worker.postMessage(message),
      setBusy: () => {}, // a Web Worker never keeps a page or runtime alive on its own
      async terminate() {
        worker.terminate();
      },
    };
  };
}

/** The failure of the worker at `url`, naming it and the two ways to make it load. */
export function workerLoadError(url: string, message: string | undefined): string {
  return (
    `the worker script ${url} failed to load or threw${message ? ` (${message})` : ''}. ` +
    'With esbuild, build @mha/backend-ts/worker-web as an entry point named worker-web.js beside your bundle, ' +
    'or pass its URL as createTsBackend({ threads, workerUrl })'
  );
}
