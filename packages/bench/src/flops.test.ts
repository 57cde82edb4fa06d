import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@mha/core';
import { gflops, shapeFlops } from './flops.js';
import { SHAPES, type BenchShape } from './shapes.js';

/** Counts multiply-adds of the forward pass with explicit loops over the visible (query, key) pairs. */
function countedFlops(shape: BenchShape): { full: number; half: number } {
  const c = resolveConfig(shape.config);
  const B = shape.batch;
  const T = shape.tokens;
  let projMacs = 0;
  for (const [inDim, outDim, n] of [[c.dIn, c.dOut, 3], [c.dOut, c.dOut, c.outProj ? 1 : 0]] as const) projMacs += n * B * T * inDim * outDim;
  let pairsAll = 0;
  let pairsVisible = 0;
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      pairsAll++;
      if (!c.causal || j <= i) pairsVisible++;
    }
  }
  // Per pair and head: dh MACs for the score, dh MACs for weights @ v.
  const attn = (pairs: number) => B * c.heads * pairs * 2 * c.headDim;
  return { full: 2 * (projMacs + attn(pairsAll)), half: 2 * (projMacs + attn(pairsVisible)) };
}

describe('shapeFlops', () => {
  // long-16k's T*T loop is 268M iterations: the formula is the same code path as long, so skip it here.
  for (const shape of SHAPES.filter((s) => s.tokens <= 4096)) {
    it(`matches an explicit count on ${shape.name}`, () => {
      const f = shapeFlops(shape);
      const counted = countedFlops(shape);
      expect(f.full).toBe(counted.full);
      expect(f.half).toBe(counted.half);
      expect(f.full).toBe(f.projections + f.attentionFull);
      expect(f.half).toBe(f.projections + f.attentionHalf);
    });
  }

  it('counts half = full for a non-causal shape and omits the output projection when there is none', () => {
    const shape: BenchShape = { name: 'x', description: '', batch: 2, tokens: 5, config: { dIn: 6, dOut: 4, heads: 2, outProj: false } };
    const counted = countedFlops(shape);
    expect(shapeFlops(shape).full).toBe(counted.full);
    expect(shapeFlops(shape).half).toBe(counted.full);
  });

  it('gflops converts FLOPs per millisecond to GFLOP/s', () => {
    expect(gflops(3e9, 1000)).toBeCloseTo(3, 12);
    expect(gflops(5e6, 2)).toBeCloseTo(2.5, 12);
  });
});
