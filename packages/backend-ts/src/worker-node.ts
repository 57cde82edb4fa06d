/**
 * Entry of a Node `worker_threads` worker of the threaded mode. Started only by the Node worker host
 * (`worker-host-node.ts`), so importing `node:worker_threads` statically here never reaches a browser.
 */
import { parentPort } from 'node:worker_threads';
import type { ToWorker } from './thread-protocol.js';
import { createTaskHandler } from './worker-tasks.js';

if (parentPort === null) throw new Error('@mha/backend-ts: worker-node.js must be started as a worker thread');
const port = parentPort;
const handle = createTaskHandler((message) => port.postMessage(message));
port.on('message', (message: ToWorker) => handle(message));
