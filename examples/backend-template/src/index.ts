/**
 * A deliberately plain MHA backend, written the way an outside author would start one: it depends
 * only on @mha/core's public contract and is checked by `mha-conformance`. Copy it, replace the loops
 * with your kernels (WebGPU, WASM, ...), keep the conformance run green.
 *
 * It declares no optional core-op capability, so the conformance report shows the cases that need
 * them (cross-attention, grouped-query, masks, ...) as skipped, with the reason.
 */
import { defineBackend, type MhaBackend, type ResolvedMhaConfig, type TraceEntry } from '@mha/core';

/** `y[r, :] = x[r, :] @ w + b`, weights in the canonical [in, out] layout. */
function linear(x: Float32Array, rows: number, inDim: number, w: Float32Array, outDim: number, b?: Float32Array): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i]! * w[i * outDim + o]!;
      y[r * outDim + o] = s;
    }
  }
  return y;
}

/**
 * One head of attention for one batch row: q/k/v are read with a stride (the packed [T, width] layout),
 * the context is written into `out` at column offset `col`. Softmax subtracts the row max.
 */
function attendHead(
  q: Float32Array, k: Float32Array, v: Float32Array, width: number, col: number,
  tq: number, tk: number, dk: number, dv: number, scale: number, causal: boolean,
  out: Float32Array, outWidth: number, outCol: number, weights: Float32Array | undefined, wOff: number,
): void {
  const row = new Float64Array(tk);
  for (let i = 0; i < tq; i++) {
    const visible = causal ? Math.min(tk, i + 1) : tk;
    let max = -Infinity;
    for (let j = 0; j < visible; j++) {
      let s = 0;
      for (let d = 0; d < dk; d++) s += q[i * width + col + d]! * k[j * width + col + d]!;
      row[j] = s * scale;
      if (row[j]! > max) max = row[j]!;
    }
    let sum = 0;
    for (let j = 0; j < visible; j++) sum += row[j] = Math.exp(row[j]! - max);
    for (let j = 0; j < visible; j++) row[j]! /= sum;
    for (let d = 0; d < dv; d++) {
      let s = 0;
      for (let j = 0; j < visible; j++) s += row[j]! * v[j * width + col + d]!;
      out[i * outWidth + outCol + d] = s;
    }
    if (weights) for (let j = 0; j < tk; j++) weights[wOff + i * tk + j] = j < visible ? row[j]! : 0;
  }
}

function trace(cfg: ResolvedMhaConfig, B: number, T: number): TraceEntry[] {
  const { dIn, heads: H, headDim: dh, dOut } = cfg;
  return [
    { step: 'input', shape: [B, T, dIn] },
    { step: 'qkv', shape: [B, T, 3, H, dh] },
    { step: 'q', shape: [B, H, T, dh] },
    { step: 'k', shape: [B, H, T, dh] },
    { step: 'v', shape: [B, H, T, dh] },
    { step: 'scores', shape: [B, H, T, T] },
    { step: 'weights', shape: [B, H, T, T] },
    { step: 'context', shape: [B, H, T, dh] },
    { step: 'merged', shape: [B, T, dOut] },
    { step: 'output', shape: [B, T, dOut] },
  ];
}

/** The template backend. */
export const templateBackend: MhaBackend = defineBackend({
  name: 'template',
  runtimes: ['node', 'browser', 'deno', 'bun', 'edge'],
  capabilities: [],
  createKernel(cfg, w) {
    return {
      forward({ x, batch: B, tokens: T }, opts) {
        const { dIn, dOut, heads: H, headDim: dh } = cfg;
        // Projections stay in [B*T, dOut]; heads are column blocks, so no transpose is needed.
        const q = linear(x, B * T, dIn, w.wq, dOut, w.bq);
        const k = linear(x, B * T, dIn, w.wk, dOut, w.bk);
        const v = linear(x, B * T, dIn, w.wv, dOut, w.bv);
        const merged = new Float32Array(B * T * dOut);
        const weights = opts.returnAttentionWeights ? new Float32Array(B * H * T * T) : undefined;
        for (let b = 0; b < B; b++) {
          const at = (m: Float32Array) => m.subarray(b * T * dOut, (b + 1) * T * dOut);
          for (let h = 0; h < H; h++) {
            attendHead(at(q), at(k), at(v), dOut, h * dh, T, T, dh, dh, cfg.scale, cfg.causal, at(merged), dOut, h * dh, weights, (b * H + h) * T * T);
          }
        }
        const output = cfg.outProj ? linear(merged, B * T, dOut, w.wo!, dOut, w.bo) : merged;
        return { output, attentionWeights: weights, trace: opts.trace ? trace(cfg, B, T) : undefined };
      },
    };
  },
  attention(a) {
    const { batch: B, qHeads: H, tq, tk, dk } = a;
    const output = new Float32Array(B * H * tq * dk);
    const weights = a.returnWeights ? new Float32Array(B * H * tq * tk) : undefined;
    for (let r = 0; r < B * H; r++) {
      attendHead(
        a.q.subarray(r * tq * dk), a.k.subarray(r * tk * dk), a.v.subarray(r * tk * dk), dk, 0,
        tq, tk, dk, dk, a.scale, a.causal, output.subarray(r * tq * dk), dk, 0, weights, r * tq * tk,
      );
    }
    return { output, weights };
  },
});
