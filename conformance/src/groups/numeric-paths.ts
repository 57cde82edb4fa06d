import { referenceAttention, referenceForward, randomTensor, type AttentionOptions, type Capability } from '@mha/core';
import { expectClose, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import type { Fixture } from '../fixture.js';
import { caseParams, materialise, withModule, type ModuleCase } from '../util.js';
import { coreOpEveryPath, maxAbs, moduleEveryPath, moduleVsReference, scaled } from './both-paths.js';

const SPEC = 'SPEC.md#numeric-tolerance';

/** The capabilities a golden fixture's core-op call needs (none for a module fixture). */
export function fixtureNeeds(f: Fixture): Capability[] {
  if (f.kind === 'module') return [];
  const needs: Capability[] = [];
  if (f.q.shape[2] !== f.k.shape[2]) needs.push('cross-attention');
  if (f.q.shape[1] !== f.k.shape[1]) needs.push('grouped-query');
  if (f.q.shape[3] !== f.v.shape[3]) needs.push('value-head-dim');
  return needs;
}

/**
 * The golden fixtures on the code path their `numeric/golden/<id>` case does not take. A fixture with
 * stored weights: `forward(x)` and `forward(x, { trace: true })` (core op: no `returnWeights`) against
 * torch's output. A fixture without them (the largest): weights requested, output against torch and
 * weights against the float64 reference.
 */
export function goldenOtherPathCases(fixtures: readonly Fixture[]): ConformanceCase[] {
  return fixtures.map((f) => {
    const stored = f.kind === 'module' ? f.expected.attentionWeights !== undefined : f.expected.weights !== undefined;
    return {
      id: `numeric/${stored ? 'golden-without-weights' : 'golden-with-weights'}/${f.id}`,
      group: 'numeric' as const,
      spec: SPEC,
      title: stored
        ? `${f.description}: output without attention weights requested (oracle: ${f.oracle})`
        : `${f.description}: output with attention weights requested (oracle: ${f.oracle}; weights: the float64 reference)`,
      needs: fixtureNeeds(f),
      async run(ctx) {
        if (f.kind === 'module') {
          await withModule(ctx.backend, f.config, f.weights, async (m) => {
            if (stored) await moduleEveryPath(ctx, m, f.x, f.expected, { plain: true, trace: true, weights: false });
            else
              await moduleEveryPath(ctx, m, f.x, { output: f.expected.output, attentionWeights: referenceForward(f.config, f.weights, f.x).attentionWeights }, { plain: false, trace: false, weights: true });
          });
          return;
        }
        const options: AttentionOptions = { causal: f.options.causal, scale: f.options.scale };
        if (stored) {
          const r = await ctx.backend.attention(f.q, f.k, f.v, options);
          expectClose(ctx, 'output without returnWeights vs torch', compare(r.output, f.expected.output, scaled(ctx.tolerance, maxAbs(f.expected.output.data))));
          return;
        }
        const r = await coreOpEveryPath(ctx, f.q, f.k, f.v, options);
        expectClose(ctx, 'output with returnWeights vs torch', compare(r.output, f.expected.output, scaled(ctx.tolerance, maxAbs(f.expected.output.data))));
      },
    };
  });
}

/** The random module cases of `numeric/reference/*`, shared so the other code paths run on the same inputs. */
export const RANDOM_MODULE_CASES: readonly ModuleCase[] = [
  { name: 'small-causal', batch: 2, tokens: 7, config: { dIn: 6, heads: 2, headDim: 4, causal: true, qkvBias: true } },
  { name: 'full-no-bias', batch: 3, tokens: 5, config: { dIn: 9, heads: 3, headDim: 3, outProjBias: false } },
  { name: 'wrapper', batch: 1, tokens: 12, config: { dIn: 5, heads: 4, headDim: 2, causal: true, outProj: false } },
  { name: 'scale-override', batch: 2, tokens: 4, config: { dIn: 8, heads: 2, headDim: 4, causal: true, scale: 0.9 } },
  { name: 'long', batch: 1, tokens: 96, config: { dIn: 48, heads: 6, headDim: 8, causal: true, qkvBias: true } },
  { name: 'wide-heads', batch: 1, tokens: 20, config: { dIn: 40, heads: 2, headDim: 64, qkvBias: true } },
];

/** Seed of `RANDOM_MODULE_CASES[i]` (part of the case id). */
export const randomModuleSeed = (i: number): number => 900 + i * 7;

/** Module configs with a non-default `scale` (config field), every code path against the reference. */
const SCALED_MODULE_CASES: readonly ModuleCase[] = [
  { name: 'scale-0.05-causal', batch: 2, tokens: 9, config: { dIn: 7, heads: 3, headDim: 5, causal: true, qkvBias: true, scale: 0.05 } },
  { name: 'scale-2.5', batch: 1, tokens: 13, config: { dIn: 6, heads: 2, headDim: 3, scale: 2.5 } },
  { name: 'scale-0', batch: 2, tokens: 6, config: { dIn: 5, heads: 2, headDim: 4, causal: true, scale: 0 } },
  { name: 'scale-negative', batch: 1, tokens: 8, config: { dIn: 6, heads: 3, headDim: 2, qkvBias: true, scale: -0.7 } },
];

/** The core-op cases of `numeric/core-op/*`, shared so the path without weights runs on the same inputs. */
export const CORE_OP_CASES: readonly { name: string; q: number[]; k: number[]; v: number[]; options: AttentionOptions; needs: Capability[] }[] = [
  { name: 'full', q: [2, 3, 5, 4], k: [2, 3, 5, 4], v: [2, 3, 5, 4], options: {}, needs: [] },
  { name: 'scale', q: [1, 2, 6, 8], k: [1, 2, 6, 8], v: [1, 2, 6, 8], options: { causal: true, scale: 0.05 }, needs: [] },
  { name: 'cross-causal', q: [2, 2, 5, 4], k: [2, 2, 3, 4], v: [2, 2, 3, 4], options: { causal: true }, needs: ['cross-attention'] },
  { name: 'gqa-causal', q: [1, 4, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { causal: true }, needs: ['grouped-query'] },
  { name: 'value-dim', q: [1, 2, 4, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 7], options: {}, needs: ['value-head-dim'] },
  { name: 'softcap', q: [1, 2, 4, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 4], options: { softcap: 1.5 }, needs: ['softcap'] },
  {
    name: 'bool-mask-fully-masked-row',
    q: [1, 2, 3, 4],
    k: [1, 2, 3, 4],
    v: [1, 2, 3, 4],
    options: { mask: { kind: 'bool', data: Uint8Array.from([1, 0, 1, 0, 0, 0, 1, 1, 1]), shape: [3, 3] } },
    needs: ['attn-mask'],
  },
  {
    name: 'additive-mask-per-batch',
    q: [2, 2, 3, 4],
    k: [2, 2, 3, 4],
    v: [2, 2, 3, 4],
    options: { causal: true, mask: { kind: 'additive', data: Float32Array.from([0, -1, 2, 0.5, 0, -Infinity, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]), shape: [2, 1, 3, 3] } },
    needs: ['attn-mask'],
  },
];

/** Seed of `CORE_OP_CASES[i]` (part of the case id). */
export const coreOpSeed = (i: number): number => 980 + i * 3;

/** The q, k, v of a `CORE_OP_CASES` entry and its seed, with the float64 reference's answer. */
export function coreOpInputs(c: (typeof CORE_OP_CASES)[number], seed: number) {
  const [q, k, v] = [randomTensor(c.q, seed), randomTensor(c.k, seed + 1), randomTensor(c.v, seed + 2)];
  return { q, k, v, ref: referenceAttention(q, k, v, c.options) };
}

/** numeric: the code paths without attention weights (module: plain and trace-only; core op: no returnWeights). */
export function otherPathCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  RANDOM_MODULE_CASES.forEach((c, i) => {
    const seed = randomModuleSeed(i);
    cases.push({
      id: `numeric/reference-without-weights/${c.name}/${caseParams(c)},seed=${seed}`,
      group: 'numeric',
      spec: SPEC,
      title: `random case vs the float64 reference, forward without weights and with trace only (${c.name}, seed ${seed})`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed);
        await withModule(ctx.backend, config, weights, (m) => moduleVsReference(ctx, m, weights, x, { plain: true, trace: true, weights: false }));
      },
    });
  });
  SCALED_MODULE_CASES.forEach((c, i) => {
    const seed = 1100 + i * 7;
    cases.push({
      id: `numeric/config-scale/${c.name}/${caseParams(c)},scale=${c.config.scale},seed=${seed}`,
      group: 'numeric',
      spec: SPEC,
      title: `config scale ${c.config.scale} on every code path (no weights, trace only, weights) vs the float64 reference`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed);
        await withModule(ctx.backend, config, weights, (m) => moduleVsReference(ctx, m, weights, x));
      },
    });
  });
  CORE_OP_CASES.forEach((c, i) => {
    const seed = coreOpSeed(i);
    cases.push({
      id: `numeric/core-op-without-weights/${c.name},seed=${seed}`,
      group: 'numeric',
      spec: 'SPEC.md#core-op',
      title: `core op without returnWeights vs the float64 reference (${c.name})`,
      needs: c.needs,
      async run(ctx) {
        const { q, k, v, ref } = coreOpInputs(c, seed);
        const r = await ctx.backend.attention(q, k, v, c.options);
        expectClose(ctx, 'output without returnWeights', compare(r.output, ref.output, ctx.tolerance));
      },
    });
  });
  return cases;
}
