import { availableParallelism } from 'node:os';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { sessionOptions } from './options.js';
import type { OrtRuntime } from './runtime.js';

/**
 * OS threads an intra-op pool of `configured` threads owns: onnxruntime starts `n - 1` workers (the
 * calling thread is the n-th). `0` lets onnxruntime choose one per physical core; that is counted as
 * `os.availableParallelism()`, an upper bound.
 */
export function poolThreads(configured: number | undefined): number {
  const n = configured !== undefined && configured > 0 ? configured : availableParallelism();
  return Math.max(0, n - 1);
}

/**
 * onnxruntime-node: the native CPU execution provider. Every session owns an intra-op pool
 * (onnxruntime-node cannot share pools between sessions); inspection sessions (attention weights,
 * traces) run single-threaded so they add no pool.
 */
export const nodeRuntime: OrtRuntime = {
  runtimes: ['node'],
  Tensor,
  createSession: (model, options) => InferenceSession.create(model, options),
  sessionOptions: (o, inspection = false) => (inspection ? { ...sessionOptions(o), intraOpNumThreads: 1 } : sessionOptions(o)),
  poolThreads: (options) => poolThreads(options.intraOpNumThreads),
};
