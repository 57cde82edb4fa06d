import { referenceAttention, referenceForward, type AttentionOptions, type MhaModule, type MhaWeights, type Tensor } from '@mha/core';
import { check, expectClose, type CaseContext } from '../case.js';
import { compare, type Tolerance } from '../compare.js';

/**
 * Absolute error of a float32 sum is proportional to the magnitude of its terms, not of its result,
 * so for outputs of magnitude M the absolute part of the tolerance scales with max(1, M).
 */
export function scaled(t: Tolerance, magnitude: number): Tolerance {
  return { atol: t.atol * Math.max(1, magnitude), rtol: t.rtol };
}

/** Largest `|a[i]|` (0 for an empty array). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** An oracle tensor: float32 (torch) or float64 (the reference). */
type Expected = { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

function finite(t: Tensor, what: string): void {
  for (let i = 0; i < t.data.length; i++) check(Number.isFinite(t.data[i]!), `${what}[${i}] is ${t.data[i]}: the result must be finite where the math is`);
}

/**
 * Runs a module three ways, `forward(x)`, `forward(x, { trace: true })` and `forward(x, { returnAttentionWeights: true })`,
 * and compares every output with `expected` (and the weights with `expectedWeights` when given). A backend
 * may take a different code path when no weights are requested (fused, tiled, flash-style kernels); the
 * spec promises the same numbers on every path, so each is held to the same oracle.
 */
export async function moduleEveryPath(
  ctx: CaseContext,
  m: MhaModule,
  x: Tensor,
  expected: { output: Expected; attentionWeights?: Expected | undefined },
  paths: { plain: boolean; trace: boolean; weights: boolean } = { plain: true, trace: true, weights: true },
): Promise<void> {
  const tol = scaled(ctx.tolerance, maxAbs(expected.output.data));
  if (paths.plain) {
    const r = await m.forward(x);
    finite(r.output, 'output without weights');
    expectClose(ctx, 'output of forward(x) (no weights requested)', compare(r.output, expected.output, tol));
  }
  if (paths.trace) {
    const r = await m.forward(x, { trace: true });
    expectClose(ctx, 'output of forward(x, { trace: true })', compare(r.output, expected.output, tol));
  }
  if (paths.weights) {
    const r = await m.forward(x, { returnAttentionWeights: true });
    expectClose(ctx, 'output of forward(x, { returnAttentionWeights: true })', compare(r.output, expected.output, tol));
    if (expected.attentionWeights) expectClose(ctx, 'attention weights', compare(r.attentionWeights!, expected.attentionWeights, ctx.tolerance));
  }
}

/** {@link moduleEveryPath} against the float64 reference of the module's `weights` on `x`. */
export async function moduleVsReference(
  ctx: CaseContext,
  m: MhaModule,
  weights: MhaWeights,
  x: Tensor,
  paths?: { plain: boolean; trace: boolean; weights: boolean },
): Promise<void> {
  await moduleEveryPath(ctx, m, x, referenceForward(m.config, weights, x), paths);
}

/**
 * The core op with and without `returnWeights`, both against the float64 reference: outputs of both
 * calls, and the weights of the second. Returns the second result for case-specific checks.
 */
export async function coreOpEveryPath(ctx: CaseContext, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Promise<{ output: Tensor; weights: Tensor }> {
  const ref = referenceAttention(q, k, v, options);
  const tol = scaled(ctx.tolerance, maxAbs(ref.output.data));
  const plain = await ctx.backend.attention(q, k, v, { ...options, returnWeights: false });
  finite(plain.output, 'output without weights');
  expectClose(ctx, 'output without returnWeights', compare(plain.output, ref.output, tol));
  const full = await ctx.backend.attention(q, k, v, { ...options, returnWeights: true });
  finite(full.output, 'output with weights');
  expectClose(ctx, 'output with returnWeights', compare(full.output, ref.output, tol));
  expectClose(ctx, 'weights', compare(full.weights!, ref.weights, ctx.tolerance));
  return { output: full.output, weights: full.weights! };
}
