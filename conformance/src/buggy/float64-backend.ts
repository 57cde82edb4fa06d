// The module and core-op plumbing shared by the float64 buggy backends (numeric.ts, online-softmax.ts): float64
// projections, head split and merge, and the core-op adapter, around an attention function that carries the bug.
import { defineBackend, expectedTrace, linear64, type AttentionMask, type MhaBackend } from '@mha/core';

/** One attention problem over `[B, H, T, d]` head-major arrays. */
export interface Problem {
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  B: number;
  Hq: number;
  Hkv: number;
  tq: number;
  tk: number;
  dk: number;
  dv: number;
  scale: number;
  causal: boolean;
  softcap: number;
  mask: AttentionMask | undefined;
  /** True when the caller did not ask for weights (a kernel's fused / fast path). */
  fast: boolean;
}

/** Context `[B, Hq, tq, dv]` and weights `[B, Hq, tq, tk]` of one {@link Problem}. */
export type AttentionFn = (p: Problem) => { out: Float64Array; w: Float64Array };

/** A float64 MHA backend with every capability, whose attention (module and core op) is `attention`. */
export function float64Backend(name: string, attention: AttentionFn): MhaBackend {
  return defineBackend({
    name,
    runtimes: ['node'],
    capabilities: ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'],
    createKernel(cfg, wts) {
      return {
        forward({ x, batch: B, tokens: T }, opts) {
          const { dIn, dOut, heads: H, headDim: dh } = cfg;
          const split = (flat: Float64Array) => {
            const o = new Float64Array(flat.length);
            for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let d = 0; d < dh; d++) o[((b * H + h) * T + t) * dh + d] = flat[(b * T + t) * dOut + h * dh + d]!;
            return o;
          };
          const q = split(linear64(x, B * T, dIn, wts.wq, dOut, wts.bq));
          const k = split(linear64(x, B * T, dIn, wts.wk, dOut, wts.bk));
          const v = split(linear64(x, B * T, dIn, wts.wv, dOut, wts.bv));
          const fast = !opts.returnAttentionWeights;
          const r = attention({ q, k, v, B, Hq: H, Hkv: H, tq: T, tk: T, dk: dh, dv: dh, scale: cfg.scale, causal: cfg.causal, softcap: 0, mask: undefined, fast });
          const merged = new Float64Array(B * T * dOut);
          for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let d = 0; d < dh; d++) merged[(b * T + t) * dOut + h * dh + d] = r.out[((b * H + h) * T + t) * dh + d]!;
          const out = cfg.outProj ? linear64(merged, B * T, dOut, wts.wo!, dOut, wts.bo) : merged;
          return {
            output: Float32Array.from(out),
            attentionWeights: opts.returnAttentionWeights ? Float32Array.from(r.w) : undefined,
            trace: opts.trace ? expectedTrace(cfg, B, T) : undefined,
          };
        },
      };
    },
    attention(a) {
      const r = attention({ q: a.q, k: a.k, v: a.v, B: a.batch, Hq: a.qHeads, Hkv: a.kvHeads, tq: a.tq, tk: a.tk, dk: a.dk, dv: a.dv, scale: a.scale, causal: a.causal, softcap: a.softcap, mask: a.mask, fast: !a.returnWeights });
      return { output: Float32Array.from(r.out), weights: a.returnWeights ? Float32Array.from(r.w) : undefined };
    },
  });
}
