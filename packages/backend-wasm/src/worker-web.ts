/** Entry of a Web Worker of the threaded backend (browsers, Deno, Bun), started as a module worker. */
import { createWorkerHandler, type ToWorker } from './thread-protocol.js';

const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: { data: ToWorker }) => void) | null };
const handle = createWorkerHandler((m) => scope.postMessage(m));
scope.onmessage = (e) => void handle(e.data);
