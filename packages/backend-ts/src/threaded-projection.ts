import type { ProjectionKernel } from '@mha/core';
import { runPhase, type ForwardBuffers, type PackedModule } from './forward-phases.js';
import { packWeights } from './matmul.js';
import { TILE } from './micro-kernel.js';
import { ScratchPool } from './scratch.js';
import type { ThreadedKernelOptions } from './threaded-module-kernel.js';
import { splitUnits } from './work-split.js';

const allocateShared = (bytes: number) => new SharedArrayBuffer(bytes);

/**
 * The `ts-threads` native projection `y = x W + b` (core's `createProjection` hook): `W` packed once onto
 * shared memory and registered with the pool as a one-phase module (`wqkv = W`), then per call the rows are
 * split over the calling thread and the workers, each running the module kernel's own projection phase
 * (`runPhase(..., 'qkv', ...)`) on its rows, so results are bit-identical to the single-threaded projection.
 * Calls of one projection run one at a time, in call order (they share its buffers).
 */
export function createThreadedProjection(inW: number, n: number, w: Float32Array, b: Float32Array | undefined, options: ThreadedKernelOptions): ProjectionKernel {
  const { pool, minWorkPerThread } = options;
  const allocate = (len: number) => new Float64Array(allocateShared(len * 8));
  let bias: Float64Array | undefined;
  if (b) {
    bias = allocate(n);
    bias.set(b);
  }
  // Only dIn, wqkv and bqkv are read by the projection phase; the rest describes a one-head module.
  let packed: PackedModule | undefined = { dIn: inW, dOut: n, heads: 1, headDim: n, scale: 1, causal: false, wqkv: packWeights(inW, [{ data: w, outDim: n }], allocate), bqkv: bias, wo: undefined, bo: undefined };
  const module: { id: number; packed: PackedModule } = { id: 0, packed };
  module.id = pool.addModule(module, packed);
  const local = new ScratchPool(options.retainScratch);
  const shared = new ScratchPool(options.retainScratch, allocateShared);
  let queue: Promise<unknown> = Promise.resolve();

  async function projectNow(x: Float32Array, rows: number): Promise<Float32Array> {
    const m = packed;
    if (m === undefined) throw new Error('ts-threads projection used after dispose()');
    try {
      const ranges = splitUnits(rows, pool.size + 1, TILE, inW * n, minWorkPerThread);
      const workers = ranges.some((r, i) => i > 0 && r.end > r.start) && (await pool.start());
      const xs = shared.getFloat32('x', rows * inW);
      xs.set(x);
      const y = shared.get('y', rows * n);
      // The phase reads x and writes qkv; merged and output are never touched, so they alias shared arrays
      // (a message then carries no unshared array to clone).
      const buf: ForwardBuffers = { batch: rows, tokens: 1, x: xs, qkv: y, merged: y, output: xs, weights: undefined };
      if (!workers) {
        for (const r of ranges) runPhase(m, buf, 'qkv', r.start, r.end, local);
      } else {
        const jobs = ranges.flatMap((r, i) => (i > 0 && r.end > r.start ? [pool.run(i - 1, module, { phase: 'qkv', start: r.start, end: r.end, buffers: buf })] : []));
        let mainFailure: { error: unknown } | undefined;
        try {
          runPhase(m, buf, 'qkv', ranges[0]!.start, ranges[0]!.end, local);
        } catch (error) {
          mainFailure = { error };
        }
        // Wait for every worker even after a failure here: none may still write when the call returns.
        const settled = await Promise.allSettled(jobs);
        if (mainFailure) throw mainFailure.error;
        for (const s of settled) if (s.status === 'rejected') throw s.reason;
      }
      // Rounded to float32 once, as the single-threaded projection stores its float64 sums.
      return Float32Array.from(y);
    } catch (e) {
      // After a worker failure its buffers may have been written late: start the next call on new ones.
      shared.clear();
      throw e;
    } finally {
      shared.release();
      local.release();
    }
  }

  return {
    project(x, rows) {
      // x is core's private copy (lowered calls), so it may wait in the queue.
      const run = queue.then(() => projectNow(x, rows));
      queue = run.catch(() => undefined);
      return run;
    },
    dispose() {
      packed = undefined;
      pool.forget(module.id, module);
      local.clear();
      shared.clear();
    },
  };
}
