import fc from 'fast-check';
import { randomTensor, referenceForward, seededRandom, type AttentionMask, type AttentionOptions, type MhaBackend, type MhaConfig, type Tensor } from '@mha/core';
import { ConformanceFailure, expectClose, type CaseContext, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { materialise, perturbAfter, permuteHeads, prefix, withModule } from '../util.js';
import { coreOpEveryPath, moduleVsReference } from './both-paths.js';
import { FLOAT32_LOWEST } from './core-op-features.js';

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

/** A config `scale`: absent (default), or any value the spec allows, including 0, -0 and negatives. */
const scaleArb = fc.oneof(
  fc.constant(null),
  fc.constantFrom(0, -0, 1e-3, 1.7, -0.5),
  fc.double({ min: -3, max: 3, noNaN: true }),
);

/** {@link sampleArb} plus a config `scale` (the original properties keep their own stream of samples). */
const scaledSampleArb = fc.tuple(sampleArb(false), scaleArb).map(([s, scale]): Sample => ({ ...s, config: { ...s.config, scale } }));

/** A random core-op call's sizes and options; what it may use is limited to the backend's capabilities. */
interface CoreSample {
  batch: number;
  kvHeads: number;
  group: number;
  tq: number;
  tk: number;
  dk: number;
  dv: number;
  causal: boolean;
  scale: number | null;
  softcap: number;
  mask: { kind: 'bool' | 'additive'; rank: number; broadcast: boolean[]; seed: number } | null;
  seed: number;
}

function coreSampleArb(backend: MhaBackend): fc.Arbitrary<CoreSample> {
  const can = (c: string) => backend.capabilities.includes(c as never);
  return fc
    .record({
      batch: fc.integer({ min: 1, max: 2 }),
      kvHeads: fc.integer({ min: 1, max: 3 }),
      group: can('grouped-query') ? fc.integer({ min: 1, max: 3 }) : fc.constant(1),
      tq: fc.integer({ min: 1, max: 9 }),
      tk: can('cross-attention') ? fc.integer({ min: 1, max: 9 }) : fc.constant(0),
      dk: fc.integer({ min: 1, max: 9 }),
      dv: can('value-head-dim') ? fc.integer({ min: 1, max: 9 }) : fc.constant(0),
      causal: fc.boolean(),
      scale: scaleArb,
      softcap: can('softcap') ? fc.oneof(fc.constant(0), fc.double({ min: 0.25, max: 4, noNaN: true })) : fc.constant(0),
      mask: can('attn-mask')
        ? fc.option(fc.record({ kind: fc.constantFrom('bool' as const, 'additive' as const), rank: fc.integer({ min: 2, max: 4 }), broadcast: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), seed: fc.nat() }), { nil: null })
        : fc.constant(null),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map((s) => ({ ...s, tk: s.tk === 0 ? s.tq : s.tk, dv: s.dv === 0 ? s.dk : s.dv }));
}

/** Bool bytes (any nonzero attends) and additive values (finite numbers, -1e9, float32 lowest, -Infinity) a mask may hold. */
const BOOL_BYTES = [0, 1, 1, 2, 255];
const ADDITIVE_VALUES = [0, 0, -Infinity, -1e9, FLOAT32_LOWEST, 1.5, -2.25];

function buildMask(s: CoreSample): AttentionMask | undefined {
  if (!s.mask) return undefined;
  const full = [s.batch, s.kvHeads * s.group, s.tq, s.tk];
  const shape = full.slice(4 - s.mask.rank).map((d, i) => (s.mask!.broadcast[i] ? 1 : d));
  const n = shape.reduce((a, b) => a * b, 1);
  const rand = seededRandom(s.mask.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  return s.mask.kind === 'bool'
    ? { kind: 'bool', data: Uint8Array.from({ length: n }, () => pick(BOOL_BYTES)), shape }
    : { kind: 'additive', data: Float32Array.from({ length: n }, () => pick(ADDITIVE_VALUES)), shape };
}

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
    make('every-path-matches-reference', 'random configs with a random config scale (0, negative, default...): forward without weights, with trace only and with weights all match the float64 reference', (ctx, backend) =>
      check('every-path-matches-reference', scaledSampleArb, async (s) => {
        const { config, weights, x } = setup(s);
        await withModule(backend, config, weights, (m) => moduleVsReference(ctx, m, weights, x));
      }),
    ),
    make(
      'core-op-matches-reference',
      'random core-op calls (scale, causal, and whatever of GQA, cross-attention, dv != dk, soft-cap and masks of any rank, broadcast and byte the backend declares) match the float64 reference with and without returnWeights',
      (ctx, backend) =>
        check('core-op-matches-reference', coreSampleArb(backend), async (s) => {
          const hq = s.kvHeads * s.group;
          const q = randomTensor([s.batch, hq, s.tq, s.dk], s.seed);
          const k = randomTensor([s.batch, s.kvHeads, s.tk, s.dk], s.seed + 1);
          const v = randomTensor([s.batch, s.kvHeads, s.tk, s.dv], s.seed + 2);
          const options: AttentionOptions = { causal: s.causal, scale: s.scale, softcap: s.softcap, mask: buildMask(s) };
          await coreOpEveryPath(ctx, q, k, v, options);
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
