/**
 * What `#worker-host-node` resolves to under the `browser` condition: a browser bundle gets this
 * stand-in instead of the Node worker glue, so it holds no `worker_threads` code. Never called there
 * (threadingSupport picks Web Workers in a browser); if it is, it says why.
 */
import type { SpawnWorker } from './worker-host.js';

/** Rejects: this build of @mha/backend-ts was resolved for browsers, which have no `worker_threads`. */
export async function nodeWorkerSpawner(): Promise<SpawnWorker> {
  throw new Error('@mha/backend-ts was bundled for the browser (the `browser` export condition), which has no Node worker threads');
}
