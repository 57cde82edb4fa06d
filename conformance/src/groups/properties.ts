import fc from 'fast-check';
import { referenceForward, type MhaBackend, type MhaConfig, type Tensor } from '@mha/core';
import { ConformanceFailure, expectClose, type CaseContext, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { materialise, perturbAfter, permuteHeads, prefix, withModule } from '../util.js';

const SPEC = 'SPEC.md#properties';

/**
 * Seed of every property run. Fixed so CI is reproducible; set MHA_PROPERTY_SEED to explore other
 * inputs. A failure message always carries the seed and the counterexample, so it can be replayed.
 */
export function propertySeed(): number {
  const env = typeof process !== 'undefined' ? process.env.MHA_PROPERTY_SEED : undefined;
  return env !== undefined && /^-?\d+$/.test(env) ? Number(env) : 20261123;
}

/** Runs per property; modest because every run builds a module (ORT sessions, tfjs uploads). */
const NUM_RUNS = 12;

interface Sample {
  config: MhaConfig;
  batch: number;
  tokens: number;
  seed: number;
}

const sampleArb = (forceCausal: boolean) =>
  fc
    .record({
      dIn: fc.integer({ min: 1, max: 12 }),
      heads: fc.integer({ min: 1, max: 4 }),
      headDim: fc.integer({ min: 1, max: 6 }),
      causal: forceCausal ? fc.constant(true) : fc.boolean(),
      qkvBias: fc.boolean(),
      outProj: fc.boolean(),
      outProjBias: fc.boolean(),
      batch: fc.integer({ min: 1, max: 3 }),
      tokens: fc.integer({ min: forceCausal ? 2 : 1, max: 9 }),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map(({ batch, tokens, seed, outProjBias, outProj, ...c }): Sample => ({ config: { ...c, outProj, outProjBias: outProj && outProjBias }, batch, tokens, seed }));

async function check<T>(name: string, arb: fc.Arbitrary<T>, body: (v: T) => Promise<void>): Promise<void> {
  const seed = propertySeed();
  try {
    await fc.assert(fc.asyncProperty(arb, body), { seed, numRuns: NUM_RUNS, endOnFailure: true });
  } catch (e) {
    // fast-check's message holds the counterexample; add how to replay it.
    throw new ConformanceFailure(`${name} failed (replay with MHA_PROPERTY_SEED=${seed}): ${(e as Error).message.split('\n').slice(0, 8).join('\n')}`);
  }
}

/** The shared case builder: same seeding as every other group (weights from `seed`, input from `seed + 1`). */
const setup = (s: Sample) => materialise({ name: 'property', batch: s.batch, tokens: s.tokens, config: s.config }, s.seed);

/** Batch row `b` of a `[B, T, D]` tensor as its own `[1, T, D]` tensor. */
function row(x: Tensor, b: number): Tensor {
  const [, T, D] = x.shape as [number, number, number];
  return { data: x.data.slice(b * T * D, (b + 1) * T * D), shape: [1, T, D] };
}

/** properties: fast-check over random configs and inputs, on every backend. */
export function propertyCases(): ConformanceCase[] {
  const make = (name: string, title: string, run: (ctx: CaseContext, backend: MhaBackend) => Promise<void>): ConformanceCase => ({
    id: `properties/${name}/runs=${NUM_RUNS}`,
    group: 'properties',
    spec: SPEC,
    title,
    run: (ctx) => run(ctx, ctx.backend),
  });
  return [
    make('matches-reference', 'random configs and inputs match the float64 reference (output and weights)', (ctx, backend) =>
      check('matches-reference', sampleArb(false), async (s) => {
        const { config, weights, x } = setup(s);
        const ref = referenceForward(config, weights, x);
        await withModule(backend, config, weights, async (m) => {
          const r = await m.forward(x, { returnAttentionWeights: true });
          expectClose(ctx, 'output', compare(r.output, ref.output, ctx.tolerance));
          expectClose(ctx, 'attention weights', compare(r.attentionWeights!, ref.attentionWeights, ctx.tolerance));
        });
      }),
    ),
    make('causal-prefix-invariance', 'with causal: true, changing tokens after t never changes outputs at positions <= t', (ctx, backend) =>
      check('causal-prefix-invariance', fc.tuple(sampleArb(true), fc.nat()), async ([s, pick]) => {
        const { config, weights, x } = setup(s);
        const t = pick % (s.tokens - 1);
        await withModule(backend, config, weights, async (m) => {
          const base = (await m.forward(x)).output;
          const changed = (await m.forward(perturbAfter(x, t, s.seed + 2))).output;
          expectClose(ctx, `prefix <= ${t}`, compare(prefix(changed, t), prefix(base, t), ctx.tolerance));
        });
      }),
    ),
    make('head-permutation-invariance', 'permuting heads with the matching out_proj rows leaves the output unchanged', (ctx, backend) =>
      check('head-permutation-invariance', fc.tuple(sampleArb(false), fc.integer({ min: 1, max: 1_000_000 })), async ([s, k]) => {
        const { config, weights, x } = setup({ ...s, config: { ...s.config, outProj: true, outProjBias: s.config.outProjBias } });
        // A random permutation from the drawn integer (Fisher-Yates on a small LCG stream).
        const perm = Array.from({ length: config.heads }, (_, h) => h);
        let state = k;
        for (let i = perm.length - 1; i > 0; i--) {
          state = (state * 1103515245 + 12345) % 2147483648;
          const j = state % (i + 1);
          [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        }
        const base = await withModule(backend, config, weights, async (m) => (await m.forward(x)).output);
        const moved = await withModule(backend, config, permuteHeads(config, weights, perm), async (m) => (await m.forward(x)).output);
        expectClose(ctx, `output after permutation [${perm.join(',')}]`, compare(moved, base, ctx.tolerance));
      }),
    ),
    make('batch-independence', 'each batch row computed alone equals its slice of the batched result', (ctx, backend) =>
      check('batch-independence', sampleArb(false), async (s) => {
        const { config, weights, x } = setup(s);
        await withModule(backend, config, weights, async (m) => {
          const all = await m.forward(x, { returnAttentionWeights: true });
          for (let b = 0; b < s.batch; b++) {
            const one = await m.forward(row(x, b), { returnAttentionWeights: true });
            expectClose(ctx, `batch row ${b} output`, compare(one.output, row(all.output, b), ctx.tolerance));
            const H = config.heads;
            const T = s.tokens;
            const slice = { data: all.attentionWeights!.data.slice(b * H * T * T, (b + 1) * H * T * T), shape: [1, H, T, T] };
            expectClose(ctx, `batch row ${b} weights`, compare(one.attentionWeights!, slice, ctx.tolerance));
          }
        });
      }),
    ),
  ];
}
