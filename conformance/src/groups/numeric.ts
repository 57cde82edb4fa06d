import { randomTensor, referenceAttention, referenceForward, type AttentionOptions, type Capability, type Tensor } from '@mha/core';
import { maxAbs, scaled } from './both-paths.js';
import { coreOpFeatureCases } from './core-op-features.js';
import { CORE_OP_CASES, coreOpInputs, coreOpSeed, fixtureNeeds, goldenOtherPathCases, otherPathCases, RANDOM_MODULE_CASES, randomModuleSeed } from './numeric-paths.js';
import { sizeCases } from './numeric-sizes.js';
import { onlineSoftmaxCases } from './numeric-online-softmax.js';
import { check, expectClose, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import type { Fixture } from '../fixture.js';
import { caseParams, materialise, withModule, type ModuleCase } from '../util.js';

const SPEC = 'SPEC.md#numeric-tolerance';

/** What the book prints for output[0, 0] (ch03, torch.manual_seed(123)): an independent oracle. */
export const BOOK_PRINTED: Readonly<Record<string, readonly number[]>> = {
  'book-wrapper-ch03': [-0.4519, 0.2216, 0.4772, 0.1063],
  'book-mha-ch03': [0.319, 0.4858],
};

/** numeric: golden fixtures, the book's printed rows, random cases vs the float64 reference, extreme logits. */
export function numericCases(fixtures: readonly Fixture[]): ConformanceCase[] {
  const cases: ConformanceCase[] = fixtures.map((f) => ({
    id: `numeric/golden/${f.id}`,
    group: 'numeric' as const,
    spec: SPEC,
    title: `${f.description} (oracle: ${f.oracle})`,
    needs: fixtureNeeds(f),
    async run(ctx) {
      if (f.kind === 'module') {
        const tol = scaled(ctx.tolerance, maxAbs(f.expected.output.data));
        await withModule(ctx.backend, f.config, f.weights, async (m) => {
          const r = await m.forward(f.x, { returnAttentionWeights: f.expected.attentionWeights !== undefined });
          expectClose(ctx, 'output', compare(r.output, f.expected.output, tol));
          if (f.expected.attentionWeights) expectClose(ctx, 'attention weights', compare(r.attentionWeights!, f.expected.attentionWeights, ctx.tolerance));
        });
      } else {
        const r = await ctx.backend.attention(f.q, f.k, f.v, { causal: f.options.causal, scale: f.options.scale, returnWeights: f.expected.weights !== undefined });
        expectClose(ctx, 'output', compare(r.output, f.expected.output, ctx.tolerance));
        if (f.expected.weights) expectClose(ctx, 'attention weights', compare(r.weights!, f.expected.weights, ctx.tolerance));
      }
    },
  }));

  for (const f of fixtures) {
    const printed = BOOK_PRINTED[f.id];
    if (!printed || f.kind !== 'module') continue;
    cases.push({
      id: `numeric/book-printed/${f.id}`,
      group: 'numeric',
      spec: SPEC,
      title: `output[0, 0] rounds to the book's printed [${printed.join(', ')}]`,
      async run({ backend }) {
        await withModule(backend, f.config, f.weights, async (m) => {
          const out = (await m.forward(f.x)).output;
          const row = Array.from(out.data.subarray(0, printed.length), (v) => Math.round(v * 1e4) / 1e4);
          check(
            row.every((v, i) => v === printed[i]),
            `first row rounds to [${row.join(', ')}], the book prints [${printed.join(', ')}]`,
          );
        });
      },
    });
  }

  RANDOM_MODULE_CASES.forEach((c, i) => {
    const seed = randomModuleSeed(i);
    cases.push({
      id: `numeric/reference/${c.name}/${caseParams(c)},seed=${seed}`,
      group: 'numeric',
      spec: SPEC,
      title: `random case vs the float64 reference (${c.name}, seed ${seed})`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed);
        const ref = referenceForward(config, weights, x);
        await withModule(ctx.backend, config, weights, async (m) => {
          const r = await m.forward(x, { returnAttentionWeights: true });
          expectClose(ctx, 'output', compare(r.output, ref.output, ctx.tolerance));
          expectClose(ctx, 'attention weights', compare(r.attentionWeights!, ref.attentionWeights, ctx.tolerance));
        });
      },
    });
  });

  const extreme: { c: ModuleCase; scale: number }[] = [
    { c: { name: 'x1e3-causal', batch: 1, tokens: 6, config: { dIn: 4, heads: 2, headDim: 2, causal: true } }, scale: 1e3 },
    { c: { name: 'x1e3-full', batch: 2, tokens: 5, config: { dIn: 3, heads: 1, headDim: 3, qkvBias: true } }, scale: 1e3 },
  ];
  extreme.forEach(({ c, scale }, i) => {
    const seed = 950 + i;
    cases.push({
      id: `numeric/extreme-logits/${c.name}/${caseParams(c)},seed=${seed}`,
      group: 'numeric',
      spec: 'SPEC.md#softmax-stability',
      title: `inputs scaled x${scale}: logits near 1e5 stay finite and match the reference (${c.name})`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed, scale);
        const ref = referenceForward(config, weights, x);
        await withModule(ctx.backend, config, weights, async (m) => {
          const r = await m.forward(x, { returnAttentionWeights: true });
          for (const v of r.output.data) check(Number.isFinite(v), 'output has a non-finite value: the softmax must subtract the row max');
          for (const v of r.attentionWeights!.data) check(Number.isFinite(v), 'attention weights have a non-finite value');
          expectClose(ctx, 'output', compare(r.output, ref.output, scaled(ctx.tolerance, maxAbs(ref.output.data))));
        });
      },
    });
  });

  cases.push(...edgeCases());

  CORE_OP_CASES.forEach((c, i) => {
    const seed = coreOpSeed(i);
    cases.push({
      id: `numeric/core-op/${c.name},seed=${seed}`,
      group: 'numeric',
      spec: 'SPEC.md#core-op',
      title: `core op vs the float64 reference (${c.name})`,
      needs: c.needs,
      async run(ctx) {
        const { q, k, v, ref } = coreOpInputs(c, seed);
        const r = await ctx.backend.attention(q, k, v, { ...c.options, returnWeights: true });
        expectClose(ctx, 'output', compare(r.output, ref.output, ctx.tolerance));
        expectClose(ctx, 'weights', compare(r.weights!, ref.weights, ctx.tolerance));
      },
    });
  });
  // Conformance v2: the code paths without weights, sizes that cross kernel boundaries, feature combinations.
  cases.push(...goldenOtherPathCases(fixtures), ...otherPathCases(), ...sizeCases(), ...coreOpFeatureCases());
  cases.push(...onlineSoftmaxCases());
  return cases;
}

/** A tensor of `shape` filled by `f(flat index)`. */
function filled(shape: number[], f: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => f(i)), shape };
}

/** Numerical edge cases, each against the float64 reference; outputs must stay finite wherever the math is. */
function edgeCases(): ConformanceCase[] {
  const SPEC_EDGE = 'SPEC.md#softmax-stability';
  const coreEdge = (name: string, title: string, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): ConformanceCase => ({
    id: `numeric/edge/${name}`,
    group: 'numeric',
    spec: SPEC_EDGE,
    title,
    async run(ctx) {
      const ref = referenceAttention(q, k, v, options);
      const r = await ctx.backend.attention(q, k, v, { ...options, returnWeights: true });
      for (const x of r.output.data) check(Number.isFinite(x), `${name}: output has a non-finite value`);
      expectClose(ctx, 'output', compare(r.output, ref.output, scaled(ctx.tolerance, maxAbs(ref.output.data))));
      expectClose(ctx, 'weights', compare(r.weights!, ref.weights, ctx.tolerance));
    },
  });
  const moduleEdge = (name: string, title: string, c: ModuleCase, seed: number, x?: Tensor): ConformanceCase => ({
    id: `numeric/edge/${name}/${caseParams(c)}`,
    group: 'numeric',
    spec: SPEC_EDGE,
    title,
    async run(ctx) {
      const m = materialise(c, seed);
      const input = x ?? m.x;
      const ref = referenceForward(m.config, m.weights, input);
      await withModule(ctx.backend, m.config, m.weights, async (mod) => {
        const r = await mod.forward(input, { returnAttentionWeights: true });
        for (const v of r.output.data) check(Number.isFinite(v), `${name}: output has a non-finite value`);
        expectClose(ctx, 'output', compare(r.output, ref.output, scaled(ctx.tolerance, maxAbs(ref.output.data))));
        expectClose(ctx, 'attention weights', compare(r.attentionWeights!, ref.attentionWeights, ctx.tolerance));
      });
    },
  });
  // Scores of exactly +-1e4 (dk = 1, scale 1): exp would overflow without max subtraction.
  const big = filled([1, 1, 4, 1], (i) => (i % 2 === 0 ? 100 : -100));
  const denormal = filled([1, 5, 6], (i) => (i % 3 === 0 ? 1e-40 : -3e-41) * (1 + (i % 7)));
  return [
    coreEdge('logits-1e4', 'scores of +-1e4 give exact one-hot / uniform weights, no overflow', big, big, filled([1, 1, 4, 1], (i) => i - 1.5), { scale: 1 }),
    coreEdge('all-equal-scores', 'all-equal scores (q = 0) give uniform weights 1/Tk', filled([2, 2, 5, 4], () => 0), randomTensor([2, 2, 5, 4], 31), randomTensor([2, 2, 5, 4], 32), { causal: true }),
    coreEdge('single-token', 'a single query and key: weight exactly 1, output = v', randomTensor([1, 3, 1, 4], 33), randomTensor([1, 3, 1, 4], 34), randomTensor([1, 3, 1, 4], 35), { causal: true }),
    moduleEdge('head-dim-1', 'head_dim = 1 (scale 1)', { name: 'head-dim-1', batch: 2, tokens: 6, config: { dIn: 5, heads: 3, headDim: 1, causal: true, qkvBias: true } }, 41),
    moduleEdge('head-dim-512', 'head_dim = 512 (long dot products)', { name: 'head-dim-512', batch: 1, tokens: 8, config: { dIn: 64, heads: 1, headDim: 512, causal: true } }, 42),
    moduleEdge('denormal-inputs', 'subnormal float32 inputs (1e-40) give finite outputs equal to the reference', { name: 'denormal', batch: 1, tokens: 5, config: { dIn: 6, heads: 2, headDim: 3, causal: true, qkvBias: true } }, 43, denormal),
  ];
}
