// Deliberately broken projection hooks (BackendDefinition.createProjection): core runs the projections of
// every lowered module call (GQA, kdim/vdim, cross-attention, masks, bottom-right causal, averaged weights)
// on the hook when a backend has one, so each bug is a GEMM mistake that only a module-feature case exposes.
// Meta-tests: src/meta-projection.test.ts.
import { deriveBackend, linear64, type MhaBackend, type ProjectionKernel } from '@mha/core';
import { referenceBackend } from '../reference-backend.js';

/** The bugs {@link projectionBuggyBackend} can inject; `none` is a correct float64 projection. */
export const PROJECTION_BUGS = ['none', 'bias-dropped', 'weights-transposed', 'last-row-zero'] as const;

/** One of {@link PROJECTION_BUGS}. */
export type ProjectionBug = (typeof PROJECTION_BUGS)[number];

/** What each bug does, as a kernel author would describe the mistake. */
export const PROJECTION_BUG_DESCRIPTIONS: Readonly<Record<ProjectionBug, string>> = {
  none: 'no bug (x W + b in float64, rounded to float32)',
  'bias-dropped': 'the bias is never added',
  'weights-transposed': 'W is read as [out, in] (row-major W^T) instead of [in, out]',
  'last-row-zero': 'a tiling edge bug: the last input row is never computed (its output stays 0)',
};

function projection(bug: ProjectionBug, inW: number, n: number, w: Float32Array, b: Float32Array | undefined): ProjectionKernel {
  return {
    project(x, rows) {
      if (bug === 'weights-transposed') {
        const y = new Float32Array(rows * n);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < n; j++) {
            let s = b ? b[j]! : 0;
            for (let i = 0; i < inW; i++) s += x[r * inW + i]! * w[j * inW + i]!;
            y[r * n + j] = s;
          }
        }
        return y;
      }
      const y = Float32Array.from(linear64(x, rows, inW, w, n, bug === 'bias-dropped' ? undefined : b));
      if (bug === 'last-row-zero') y.fill(0, (rows - 1) * n);
      return y;
    },
  };
}

/** The float64 reference backend with a projection hook carrying one bug (`none`: a correct hook). */
export function projectionBuggyBackend(bug: ProjectionBug): MhaBackend {
  return deriveBackend(referenceBackend, { name: `buggy-projection-${bug}`, createProjection: (inW, n, w, b) => projection(bug, inW, n, w, b) });
}
