/** Entry of a Node `worker_threads` worker of the threaded backend (started by thread-pool.ts only). */
import { parentPort } from 'node:worker_threads';
import { createWorkerHandler, type ToWorker } from './thread-protocol.js';

if (parentPort === null) throw new Error('@mha/backend-wasm: worker-node.js must be started as a worker thread');
const port = parentPort;
const handle = createWorkerHandler((m) => port.postMessage(m));
port.on('message', (m: ToWorker) => void handle(m));
