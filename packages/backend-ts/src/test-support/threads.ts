// Test-only helpers for the threaded mode: pools on real Node workers whose traffic is recorded, and
// bit-exact comparison.
import { expect } from 'vitest';
import type { ToWorker } from '../thread-protocol.js';
import type { SpawnWorker } from '../worker-host.js';
import { nodeWorkerSpawner } from '../worker-host-node.js';
import { WorkerPool } from '../worker-pool.js';
import { builtUrl } from './built.js';

/** The built worker script (`dist/worker-node.js`). */
export const BUILT_WORKER = new URL(builtUrl('worker-node.js'));

/** A pool whose every message to a worker is also appended to `sent` (with the worker's index). */
export function recordingPool(size: number, entries: () => URL = () => BUILT_WORKER, retainScratch = true): { pool: WorkerPool; sent: { worker: number; message: ToWorker }[] } {
  const sent: { worker: number; message: ToWorker }[] = [];
  const load = async (): Promise<SpawnWorker> => {
    const spawn = await nodeWorkerSpawner(entries());
    let next = 0;
    return (listener) => {
      const worker = next++;
      const link = spawn(listener);
      return {
        post(message) {
          sent.push({ worker, message });
          link.post(message);
        },
        setBusy: (busy) => link.setBusy(busy),
        terminate: () => link.terminate(),
      };
    };
  };
  return { pool: new WorkerPool(size, load, retainScratch), sent };
}

/** Fails at the first element whose bits differ (so -0 vs 0 and NaN payloads count). */
export function expectSameBits(actual: Float32Array | undefined, expected: Float32Array | undefined, label: string): void {
  expect(actual === undefined, `${label}: presence`).toBe(expected === undefined);
  if (actual === undefined || expected === undefined) return;
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) expect.fail(`${label}: element ${i} is ${actual[i]}, single-threaded gave ${expected[i]}`);
  }
}
