import type { ForwardBuffers, PackedModule, Phase } from './forward-phases.js';

/**
 * Messages between the main thread and a worker of the threaded mode. They carry numbers and typed
 * arrays that sit on shared memory, so posting one shares the arrays, never copies their contents.
 */
export type ToWorker =
  | {
      readonly kind: 'init';
      /** Keep the worker's scratch between tasks (the backend's `retainScratch`). */
      readonly retainScratch: boolean;
      /** The worker's two-slot handshake array, see {@link SYNC_POSTED} and {@link SYNC_DONE}. */
      readonly sync: Int32Array;
    }
  /** Once per module and worker: the packed weights, on shared memory. */
  | { readonly kind: 'register'; readonly module: number; readonly packed: PackedModule }
  /** The module was disposed: drop the worker's reference to its weights. */
  | { readonly kind: 'unregister'; readonly module: number }
  /** Run units `[start, end)` of `phase` of one forward of `module`. */
  | { readonly kind: 'task'; readonly job: number; readonly module: number; readonly phase: Phase; readonly start: number; readonly end: number; readonly buffers: ForwardBuffers };

/** A worker's answer to a task, or news that it cannot go on. */
export type FromWorker =
  | { readonly kind: 'done'; readonly job: number }
  | { readonly kind: 'failed'; readonly job: number; readonly message: string }
  /** Something outside any task went wrong (e.g. an unknown message); the worker is unusable. */
  | { readonly kind: 'fatal'; readonly message: string };

/**
 * Slot of the sync array the main thread stores a job id into right before posting the task; the
 * worker loads it before reading shared inputs. Slot {@link SYNC_DONE} goes the other way after the
 * worker has written its outputs. Message passing alone is not a synchronising operation in the
 * ECMAScript memory model; these sequentially consistent `Atomics` accesses are, so plain writes to
 * shared memory made before them are visible after them.
 */
export const SYNC_POSTED = 0;
/** See {@link SYNC_POSTED}. */
export const SYNC_DONE = 1;
