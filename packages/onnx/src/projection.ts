import type { MhaWeights, ResolvedMhaConfig } from '@mha/core';
import type { GraphBuilder } from './graph-builder.js';

/**
 * `[wq | wk | wv]` side by side as one `[dIn, 3*dOut]` matrix (and the biases as one `[3*dOut]`
 * vector), so the graph projects Q, K and V with a single MatMul.
 */
export function fusedQkv(config: ResolvedMhaConfig, weights: Readonly<MhaWeights>): { weight: Float32Array; bias: Float32Array | undefined } {
  const { dIn, dOut } = config;
  const weight = new Float32Array(dIn * 3 * dOut);
  const parts = [weights.wq, weights.wk, weights.wv];
  for (let i = 0; i < dIn; i++) {
    parts.forEach((w, p) => weight.set(w.subarray(i * dOut, (i + 1) * dOut), i * 3 * dOut + p * dOut));
  }
  let bias: Float32Array | undefined;
  if (config.qkvBias) {
    bias = new Float32Array(3 * dOut);
    [weights.bq!, weights.bk!, weights.bv!].forEach((b, p) => bias!.set(b, p * dOut));
  }
  return { weight, bias };
}

/** `x @ W_qkv (+ b_qkv)` into a tensor called `name`: `[batch, tokens, dIn]` -> `[batch, tokens, 3*dOut]`. */
export function projectQkv(g: GraphBuilder, config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, x: string, name: string): string {
  const { weight, bias } = fusedQkv(config, weights);
  const w = g.floatInitializer('qkv_weight', [config.dIn, 3 * config.dOut], weight);
  if (!bias) return g.node('MatMul', [x, w], {}, name);
  const y = g.node('MatMul', [x, w], {}, 'qkv_matmul');
  return g.node('Add', [y, g.floatInitializer('qkv_bias', [3 * config.dOut], bias)], {}, name);
}

/**
 * The output projection `merged @ Wo (+ bo)` into a tensor called `name`, or `merged` itself for the
 * wrapper layout (no out projection).
 */
export function projectOutput(g: GraphBuilder, config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, merged: string, name: string): string {
  if (!config.outProj) return merged;
  const wo = g.floatInitializer('out_weight', [config.dOut, config.dOut], weights.wo!);
  if (!config.outProjBias) return g.node('MatMul', [merged, wo], {}, name);
  const y = g.node('MatMul', [merged, wo], {}, 'out_matmul');
  return g.node('Add', [y, g.floatInitializer('out_bias', [config.dOut], weights.bo!)], {}, name);
}
