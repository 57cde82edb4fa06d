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
 * Worker host on Web Workers (browsers, and Deno/Bun when used without Node compatibility). Not
 * exercised by this package's tests, which run in Node. The `new Worker(new URL('./worker-web.js',
 * import.meta.url), { type: 'module' })` form is kept literal because bundlers (Vite, webpack 5)
 * recognise exactly that and emit the worker script with the app.
 */
export function webWorkerSpawner(): SpawnWorker {
  return (listener) => {
    const worker = new Worker(new URL('./worker-web.js', import.meta.url), { type: 'module' });
    worker.onmessage = (event) => listener.message(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      listener.failure(new Error(event.message || 'the worker script failed to load or threw'));
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
