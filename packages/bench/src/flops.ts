import { resolveConfig } from '@mha/core';
import type { ShapeFlops } from './results.js';
import type { BenchShape } from './shapes.js';

/**
 * Floating-point operations of one forward, counting a multiply-add as 2:
 *
 * - projections: `2*B*T*dIn*dOut * 3` (q, k, v) `+ 2*B*T*dOut*dOut` (output projection, if any);
 * - attention, full: `4*B*H*T*T*dh` (`q k^T` and `weights @ v`, each `2*T*T*dh` per head);
 * - attention, causal half: `4*B*H*dh * T*(T+1)/2`, the work on the key positions a causal query can see.
 *
 * Biases, scaling, softmax and masking are not counted (O(B*H*T*T), small next to the matmuls for
 * `dh >= 32`). For a non-causal shape, half = full.
 */
export function shapeFlops(shape: BenchShape): ShapeFlops {
  const c = resolveConfig(shape.config);
  const B = shape.batch;
  const T = shape.tokens;
  const projections = 2 * B * T * c.dIn * c.dOut * 3 + (c.outProj ? 2 * B * T * c.dOut * c.dOut : 0);
  const attentionFull = 4 * B * c.heads * T * T * c.headDim;
  const attentionHalf = c.causal ? (4 * B * c.heads * c.headDim * T * (T + 1)) / 2 : attentionFull;
  return { projections, attentionFull, attentionHalf, full: projections + attentionFull, half: projections + attentionHalf };
}

/** GFLOP/s of `flops` done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
