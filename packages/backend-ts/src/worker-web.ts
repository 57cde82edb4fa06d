/**
 * Entry of a Web Worker of the threaded mode (browsers, Deno, Bun), started by the Web worker host as
 * a module worker. Uses only the worker global scope's `postMessage` and `message` events.
 */
import type { FromWorker, ToWorker } from './thread-protocol.js';
import { createTaskHandler } from './worker-tasks.js';

/** The part of a dedicated worker's global scope this entry uses. */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', listener: (event: { readonly data: ToWorker }) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
const handle = createTaskHandler((message) => scope.postMessage(message));
scope.addEventListener('message', (event) => handle(event.data));
