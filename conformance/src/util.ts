import {
  fromPerHead,
  toPerHead,
  initWeights,
  randomTensor,
  resolveConfig,
  type MhaBackend,
  type MhaConfig,
  type MhaModule,
  type MhaWeights,
  type ResolvedMhaConfig,
  type Tensor,
} from '@mha/core';

/** Builds a module, runs `fn`, and always disposes it. */
export async function withModule<T>(backend: MhaBackend, config: MhaConfig | ResolvedMhaConfig, weights: MhaWeights, fn: (m: MhaModule) => Promise<T>): Promise<T> {
  const m = await backend.createModule(config, weights);
  try {
    return await fn(m);
  } finally {
    await m.dispose();
  }
}

/** A named module configuration plus an input size. */
export interface ModuleCase {
  readonly name: string;
  readonly batch: number;
  readonly tokens: number;
  readonly config: MhaConfig;
}

/** Deterministic config, weights and input for a module case; `seed` is part of the case id. */
export function materialise(c: ModuleCase, seed: number, inputScale = 1): { config: ResolvedMhaConfig; weights: MhaWeights; x: Tensor } {
  const config = resolveConfig(c.config);
  return { config, weights: initWeights(config, seed), x: randomTensor([c.batch, c.tokens, config.dIn], seed + 1, inputScale) };
}

/** Id fragment naming a module case's parameters. */
export function caseParams(c: ModuleCase): string {
  const cfg = resolveConfig(c.config);
  const layout = !cfg.outProj ? 'wrapper' : cfg.qkvBias ? 'bias' : cfg.outProjBias ? 'mha' : 'fused';
  return `B=${c.batch},T=${c.tokens},dIn=${cfg.dIn},H=${cfg.heads},dh=${cfg.headDim},${cfg.causal ? 'causal' : 'full'},${layout}`;
}

/** Float64 tensor -> float32 tensor (inputs for a backend built from reference intermediates). */
export function toF32(t: { data: ArrayLike<number>; shape: readonly number[] }): Tensor {
  return { data: Float32Array.from(t.data), shape: [...t.shape] };
}

/**
 * The module grid shared by several groups: the PyTorch examples (the book's wrapper and MHA, the
 * fused-QKV layer, 128 -> 4 heads x 32) plus edge sizes (T=1, one head, headDim=1, odd sizes).
 */
export const MODULE_GRID: readonly ModuleCase[] = [
  { name: 'book-wrapper', batch: 2, tokens: 6, config: { dIn: 3, heads: 2, headDim: 2, causal: true, outProj: false } },
  { name: 'book-mha', batch: 2, tokens: 6, config: { dIn: 3, dOut: 2, heads: 2, causal: true } },
  { name: 'fused-qkv', batch: 2, tokens: 5, config: { dIn: 12, dOut: 12, heads: 3, outProjBias: false } },
  { name: 'heads-128x4', batch: 1, tokens: 8, config: { dIn: 128, dOut: 128, heads: 4, causal: true } },
  { name: 'single-token', batch: 3, tokens: 1, config: { dIn: 5, heads: 2, headDim: 3, causal: true, qkvBias: true } },
  { name: 'one-head', batch: 2, tokens: 7, config: { dIn: 6, heads: 1, headDim: 6, causal: true } },
  { name: 'head-dim-1', batch: 2, tokens: 5, config: { dIn: 4, heads: 4, headDim: 1, qkvBias: true } },
  { name: 'odd', batch: 3, tokens: 11, config: { dIn: 7, heads: 3, headDim: 5, causal: true, qkvBias: true } },
  { name: 'd-out-differs', batch: 1, tokens: 9, config: { dIn: 10, heads: 2, headDim: 3, outProj: false, qkvBias: true } },
  { name: 'wide', batch: 2, tokens: 33, config: { dIn: 64, heads: 8, headDim: 8, causal: true, qkvBias: true } },
];

/** The causal subset of {@link MODULE_GRID}. */
export const CAUSAL_GRID: readonly ModuleCase[] = MODULE_GRID.filter((c) => c.config.causal);

/** `x` with every token after position `t` replaced by fresh noise. */
export function perturbAfter(x: Tensor, t: number, seed: number): Tensor {
  const [B, T, D] = x.shape as [number, number, number];
  const noise = randomTensor([B, T, D], seed, 3);
  const data = x.data.slice();
  for (let b = 0; b < B; b++) for (let s = t + 1; s < T; s++) for (let d = 0; d < D; d++) data[(b * T + s) * D + d] = noise.data[(b * T + s) * D + d]!;
  return { data, shape: x.shape };
}

/** Rows `0..t` of every batch of a `[B, T, D]` tensor. */
export function prefix(x: Tensor, t: number): Tensor {
  const [B, T, D] = x.shape as [number, number, number];
  const out = new Float32Array(B * (t + 1) * D);
  for (let b = 0; b < B; b++) out.set(x.data.subarray(b * T * D, (b * T + t + 1) * D), b * (t + 1) * D);
  return { data: out, shape: [B, t + 1, D] };
}

/** Reorders heads by `perm` in q/k/v columns and biases, and the matching rows of `wo`. */
export function permuteHeads(config: MhaConfig, w: MhaWeights, perm: readonly number[]): MhaWeights {
  const cfg = resolveConfig(config);
  const heads = toPerHead(cfg, w);
  const dh = cfg.headDim;
  let wo: Float32Array | undefined;
  if (w.wo) {
    wo = new Float32Array(w.wo.length);
    // Merged column block of new head p is old head perm[p]; wo rows follow the merged columns.
    perm.forEach((old, p) => wo!.set(w.wo!.subarray(old * dh * cfg.dOut, (old + 1) * dh * cfg.dOut), p * dh * cfg.dOut));
  }
  return fromPerHead(cfg, perm.map((old) => heads[old]!), wo ? { wo, bo: w.bo } : undefined);
}

