import type { ProjectionKernel } from '@mha/core';
import { projectRows } from './forward-phases.js';
import { packWeights } from './matmul.js';
import { ScratchPool } from './scratch.js';

/**
 * The backend's native projection `y = x W + b` (core's `createProjection` hook, used for the projections
 * of lowered module calls): `W` packed once into column panels, then per call one packed GEMM over the
 * rows, the same code as the module kernel's projections, so results equal what the one-key fallback
 * computed, at a third of its work. `ts-threads` splits the same phase over its threads (threaded-projection.ts).
 */
export function createProjection(inW: number, n: number, w: Float32Array, b: Float32Array | undefined, retainScratch: boolean): ProjectionKernel {
  let packed: ReturnType<typeof packWeights> | undefined = packWeights(inW, [{ data: w, outDim: n }]);
  const bias = b && Float64Array.from(b);
  const scratch = new ScratchPool(retainScratch);
  return {
    project(x, rows) {
      if (packed === undefined) throw new Error('ts projection used after dispose()');
      const out = new Float32Array(rows * n);
      try {
        projectRows(x, inW, 0, rows, packed, bias, out, scratch);
      } finally {
        scratch.release();
      }
      return out;
    },
    dispose() {
      packed = undefined;
      scratch.clear();
    },
  };
}
