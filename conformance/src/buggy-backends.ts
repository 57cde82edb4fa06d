// Deliberately broken backends, for testing the suite itself (and any tooling built on it).
import { defineBackend, expectedTrace, linear64, type MhaBackend } from '@mha/core';

/** The bugs {@link buggyBackend} can inject; `none` is a correct independent implementation. */
export const BUGS = ['none', 'merge-order', 'causal-off-by-one', 'no-scale', 'unstable-softmax', 'causal-ignored'] as const;

/** One of {@link BUGS}. */
export type Bug = (typeof BUGS)[number];

/** A plain float64 MHA with one injectable bug, written independently of core's reference. */
export function buggyBackend(bug: Bug): MhaBackend {
  const softmax = (row: Float64Array, n: number) => {
    const max = bug === 'unstable-softmax' ? 0 : Math.max(...row.subarray(0, n));
    let sum = 0;
    for (let j = 0; j < n; j++) sum += row[j] = Math.exp(row[j]! - max);
    for (let j = 0; j < n; j++) row[j]! /= sum;
    // Emulate float32 storage: an overflowed exp becomes Infinity and then NaN, as in a real kernel.
    for (let j = 0; j < n; j++) row[j] = Math.fround(row[j]!);
  };
  const attend = (q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, T: number, Tk: number, dk: number, dv: number, scale: number, causal: boolean, out: Float64Array, w: Float64Array) => {
    const row = new Float64Array(Tk);
    for (let i = 0; i < T; i++) {
      const visible = !causal || bug === 'causal-ignored' ? Tk : Math.min(Tk, i + 1 + (bug === 'causal-off-by-one' ? 1 : 0));
      for (let j = 0; j < Tk; j++) {
        let s = 0;
        for (let d = 0; d < dk; d++) s += q[i * dk + d]! * k[j * dk + d]!;
        row[j] = j < visible ? s * (bug === 'no-scale' ? 1 : scale) : -Infinity;
      }
      softmax(row, Tk);
      for (let j = 0; j < Tk; j++) {
        w[i * Tk + j] = row[j]!;
        for (let d = 0; d < dv; d++) out[i * dv + d]! += row[j]! * v[j * dv + d]!;
      }
    }
  };
  return defineBackend({
    name: `buggy-${bug}`,
    runtimes: ['node'],
    capabilities: ['cross-attention', 'value-head-dim'],
    createKernel(cfg, wts) {
      return {
        forward({ x, batch: B, tokens: T }, opts) {
          const { dIn, dOut, heads: H, headDim: dh } = cfg;
          const q = linear64(x, B * T, dIn, wts.wq, dOut, wts.bq);
          const k = linear64(x, B * T, dIn, wts.wk, dOut, wts.bk);
          const v = linear64(x, B * T, dIn, wts.wv, dOut, wts.bv);
          const merged = new Float64Array(B * T * dOut);
          const weights = new Float32Array(B * H * T * T);
          const pick = (m: Float64Array, b: number, h: number) => {
            const o = new Float64Array(T * dh);
            for (let t = 0; t < T; t++) for (let d = 0; d < dh; d++) o[t * dh + d] = m[(b * T + t) * dOut + h * dh + d]!;
            return o;
          };
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++) {
              const ctx = new Float64Array(T * dh);
              const w = new Float64Array(T * T);
              attend(pick(q, b, h), pick(k, b, h), pick(v, b, h), T, T, dh, dh, cfg.scale, cfg.causal, ctx, w);
              weights.set(w, (b * H + h) * T * T);
              for (let t = 0; t < T; t++)
                for (let d = 0; d < dh; d++) {
                  // The classic bug: concatenating as [dh, H] instead of [H, dh].
                  const col = bug === 'merge-order' ? d * H + h : h * dh + d;
                  merged[(b * T + t) * dOut + col] = ctx[t * dh + d]!;
                }
            }
          const out = cfg.outProj ? linear64(merged, B * T, dOut, wts.wo!, dOut, wts.bo) : merged;
          return { output: Float32Array.from(out), attentionWeights: opts.returnAttentionWeights ? weights : undefined, trace: opts.trace ? expectedTrace(cfg, B, T) : undefined };
        },
      };
    },
    attention(a) {
      const out = new Float64Array(a.batch * a.qHeads * a.tq * a.dv);
      const w = new Float64Array(a.batch * a.qHeads * a.tq * a.tk);
      for (let r = 0; r < a.batch * a.qHeads; r++) {
        const o = new Float64Array(a.tq * a.dv);
        const ww = new Float64Array(a.tq * a.tk);
        attend(a.q.subarray(r * a.tq * a.dk), a.k.subarray(r * a.tk * a.dk), a.v.subarray(r * a.tk * a.dv), a.tq, a.tk, a.dk, a.dv, a.scale, a.causal, o, ww);
        out.set(o, r * a.tq * a.dv);
        w.set(ww, r * a.tq * a.tk);
      }
      return { output: Float32Array.from(out), weights: a.returnWeights ? Float32Array.from(w) : undefined };
    },
  });
}

