/**
 * What `#worker-host-node` resolves to under the `browser` condition: a browser bundle gets this
 * stand-in instead of the Node worker glue, so it holds no `worker_threads` code. Never called there
 * (the pool picks Web Workers where there is no `process.versions.node`); if it is, it says why.
 */
import type { Spawn } from './thread-pool.js';

/** Rejects: this build of @mha/backend-wasm was resolved for browsers, which have no `worker_threads`. */
export async function nodeWorkerSpawner(): Promise<Spawn> {
  throw new Error('@mha/backend-wasm was bundled for the browser (the `browser` export condition), which has no Node worker threads');
}
