import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@mha/core';
import { DECODE_CONFIG } from './decode-cells.js';
import { attentionBytes, gpuExpectation, matmulBytes } from './gpu-expectations.js';
import { shapeByName } from './shapes.js';

/**
 * Oracle: walks the tiled matmul kernel's workgroups, threads and K steps (kernels/matmul-tiled.ts) and
 * counts the bounds-checked loads and stores it issues, float32.
 */
function simulatedMatmulBytes(m: number, k: number, n: number, bias: boolean): number {
  const T = 16;
  let elems = 0;
  for (let wy = 0; wy < Math.ceil(m / T); wy++) {
    for (let wx = 0; wx < Math.ceil(n / T); wx++) {
      for (let ly = 0; ly < T; ly++) {
        for (let lx = 0; lx < T; lx++) {
          const row = wy * T + ly;
          const col = wx * T + lx;
          for (let t = 0; t < k; t += T) {
            if (row < m && t + lx < k) elems++;
            if (t + ly < k && col < n) elems++;
          }
          if (row < m && col < n) elems += bias ? 2 : 1;
        }
      }
    }
  }
  return 4 * elems;
}

/** Oracle: the tiled attention kernel's loops (kernels/attention-flash-tiled.ts), top-left causal, tq = tk. */
function simulatedAttentionBytes(bh: number, t: number, dh: number, causal: boolean): number {
  const BLOCK_Q = 32;
  const pad = [16, 32, 64, 128].find((p) => dh <= p)!;
  const BLOCK_KV = pad > 64 ? 8 : 16;
  let elems = 0;
  for (let h = 0; h < bh; h++) {
    for (let q0 = 0; q0 < t; q0 += BLOCK_Q) {
      const last = Math.min(q0 + BLOCK_Q, t) - 1;
      const kEnd = causal ? Math.min(t, last + 1) : t;
      for (let lid = 0; lid < BLOCK_Q; lid++) if (q0 + lid < t) elems += 2 * dh; // q read, context written
      for (let t0 = 0; t0 < kEnd; t0 += BLOCK_KV) {
        for (let e = 0; e < BLOCK_KV * pad; e++) {
          const j = t0 + Math.floor(e / pad);
          if (j < t && e % pad < dh) elems += 2; // a K and a V element
        }
      }
    }
  }
  return 4 * elems;
}

describe('gpu expectations (issue 15)', () => {
  it('counts the matmul bytes the tiled kernel requests', () => {
    for (const [m, k, n, bias] of [[12, 3, 6, false], [128, 128, 384, true], [17, 33, 40, true], [1, 768, 2304, true]] as const) {
      expect(matmulBytes(m, k, n, bias), `${m}x${k}x${n}`).toBe(simulatedMatmulBytes(m, k, n, bias));
    }
  });

  it('counts the attention bytes the tiled kernel requests', () => {
    for (const [bh, t, dh, causal] of [[4, 6, 1, true], [4, 128, 32, false], [2, 100, 64, true], [1, 70, 96, true], [3, 1024, 64, true]] as const) {
      expect(attentionBytes(1, bh, t, t, dh, causal), `${bh}x${t}x${dh}`).toBe(simulatedAttentionBytes(bh, t, dh, causal));
    }
  });

  it('gives the minimum traffic counted by hand', () => {
    // book: x 2*6*3 floats, wq|wk|wv 3*3*2 + wo 2*2 + the out bias 2 (outProjBias defaults to true), output 2*6*2.
    expect(gpuExpectation('book', '', shapeByName('book')).minimumBytes).toBe((36 + 18 + 4 + 2 + 24) * 4);
    // gpt2-layer: x and output 1024*768 each, four 768x768 weights, four biases of 768.
    const g = gpuExpectation('gpt2-layer', '', shapeByName('gpt2-layer'));
    expect(g.minimumBytes).toBe(4 * (2 * 1024 * 768 + 4 * 768 * 768 + 4 * 768));
    expect(g.attentionMinimumBytes).toBe(4 * 4 * 1024 * 768);
    // FLOPs as flops.ts counts them for the shape (its own test checks them against explicit loops).
    expect(g.projectionFlops).toBe(2 * 1024 * 768 * 768 * 4);
    expect(g.attentionFlops).toBe((4 * 12 * 64 * 1024 * 1025) / 2);
  });

  it('adds the cache to a decode step: read once, the new keys written once, every cached key visible', () => {
    const d = gpuExpectation('step', '', { batch: 1, tokens: 1, config: DECODE_CONFIG }, 1024);
    const c = resolveConfig(DECODE_CONFIG);
    expect(d.minimumBytes).toBe(4 * (2 * 768 + 4 * 768 * 768 + 4 * 768 + 2 * 1024 * 768 + 2 * 768));
    expect(d.attentionFlops).toBe(4 * c.heads * 1025 * c.headDim);
    expect(d.attentionBytes).toBe(4 * 12 * (2 * 64 + 2 * 1025 * 64));
  });
});
