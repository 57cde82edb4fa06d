import { ConformanceFailure, expectClose, type ConformanceCase } from '../case.js';
import { compare, type Tolerance } from '../compare.js';
import type { OnnxPeerCase } from '../onnx-peer.js';

/**
 * float16 cases are computed here in float32 and compared with ONNX's half-precision expectations:
 * half has an 11-bit significand (unit roundoff 2^-11 = 4.9e-4), so allow two of those.
 */
const HALF_TOLERANCE: Tolerance = { atol: 1e-3, rtol: 1e-3 };

const MODE_NAMES = ['scaled q k^T', 'after softcap', 'after softcap and mask', 'softmax probabilities'];

/** onnx-peer: the ONNX project's own Attention tests, through each backend's core op. */
export function onnxPeerCases(cases: readonly OnnxPeerCase[]): ConformanceCase[] {
  return cases.map((c) => ({
    id: `onnx-peer/${c.name}`,
    group: 'onnx-peer' as const,
    spec: 'SPEC.md#core-op',
    title: `ONNX Attention node test ${c.name} (opset ${c.opset})${c.half ? ', float16 widened to float32' : ''}`,
    needs: c.needs,
    async run(ctx) {
      const tol = c.half ? HALF_TOLERANCE : ctx.tolerance;
      const r = await ctx.backend.attention(c.q, c.k, c.v, c.options);
      const nan = r.output.data.findIndex((v) => Number.isNaN(v));
      // The comparison carries the NaN element's position into the report (it is the worst element).
      if (nan >= 0) throw new ConformanceFailure(`output holds NaN at flat index ${nan} (a fully masked row must give zeros)`, compare(r.output, c.expected, tol));
      expectClose(ctx, 'Y', compare(r.output, c.expected, tol));
      if (c.expectedWeights) {
        if (!r.weights) throw new ConformanceFailure('no weights returned for qk_matmul_output');
        expectClose(ctx, `qk_matmul_output (mode ${c.mode}, ${MODE_NAMES[c.mode]})`, compare(r.weights, c.expectedWeights, tol));
      }
      // present = concat(past, new) is a copy: exact.
      for (const [what, got, want] of [['present_key', r.presentKey, c.expectedPresentKey], ['present_value', r.presentValue, c.expectedPresentValue]] as const) {
        if (!want) continue;
        if (!got) throw new ConformanceFailure(`no ${what} returned`);
        expectClose(ctx, `${what} (exact)`, compare(got, want, { atol: 0, rtol: 0 }));
      }
    },
  }));
}
