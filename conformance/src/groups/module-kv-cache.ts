import fc from 'fast-check';
import { createModuleCache, initWeights, MhaErrorCode, randomTensor, referenceForward, resolveConfig, type Capability, type MhaConfig, type MhaModule, type Tensor } from '@mha/core';
import { check, ConformanceFailure, expectClose, type CaseContext, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { withModule } from '../util.js';
import { maxAbs, scaled } from './both-paths.js';
import { expectError } from './errors.js';
import { propertySeed } from './properties.js';

/*
 * The module's `forward(x_new, { cache })` (SPEC.md, "Module KV cache"). Oracle: the float64 reference's
 * causal forward of the whole sequence at once; decoding it in any chunking must give the same rows.
 */

const SPEC = 'SPEC.md#module-kv-cache';
const PROPERTY_RUNS = 6;

/** Tokens `from..to` of `[B, T, d]`, fresh. */
function tokens(x: Tensor, from: number, to: number): Tensor {
  const [B, T, d] = x.shape as [number, number, number];
  const out = new Float32Array(B * (to - from) * d);
  for (let b = 0; b < B; b++) out.set(x.data.subarray((b * T + from) * d, (b * T + to) * d), b * (to - from) * d);
  return { data: out, shape: [B, to - from, d] };
}

interface DecodeCase {
  readonly config: MhaConfig;
  readonly B: number;
  readonly chunks: readonly number[];
  /** Before each chunk after the first, decode `rollback` junk tokens, then truncate them away. */
  readonly rollback: number;
  readonly seed: number;
}

/**
 * Capabilities the cached path uses on the core op: a step with a past is `Tq != Tk` (cross-attention); a
 * step of several tokens over a past is causal with an offset, which core lowers to a mask (attn-mask);
 * GQA needs grouped-query.
 */
function needs(c: DecodeCase): Capability[] {
  const cfg = resolveConfig(c.config);
  const need: Capability[] = ['cross-attention'];
  if (c.chunks.slice(1).some((n) => n > 1) || (c.chunks.length > 1 && c.rollback > 1)) need.push('attn-mask');
  if (cfg.kvHeads !== cfg.heads) need.push('grouped-query');
  return need;
}

async function decodeEqualsFull(ctx: CaseContext, c: DecodeCase): Promise<void> {
  const cfg = resolveConfig(c.config);
  const weights = initWeights(cfg, c.seed);
  const T = c.chunks.reduce((a, b) => a + b, 0);
  const x = randomTensor([c.B, T, cfg.dIn], c.seed + 1);
  const full = referenceForward(cfg, weights, x).output;
  const want = { data: Float32Array.from(full.data), shape: full.shape };
  const tol = scaled(ctx.tolerance, maxAbs(want.data));
  await withModule(ctx.backend, cfg, weights, async (m: MhaModule) => {
    const cache = createModuleCache(m, c.B, T + c.rollback);
    let at = 0;
    for (const n of c.chunks) {
      if (at > 0 && c.rollback > 0) {
        // Speculative tokens that get rejected: decoded, then rolled back.
        await m.forward(randomTensor([c.B, c.rollback, cfg.dIn], c.seed + 7 + at, 3), { cache });
        check(cache.length === at + c.rollback, `cache length ${cache.length} after ${c.rollback} speculative tokens, expected ${at + c.rollback}`);
        cache.truncate(at);
      }
      const r = await m.forward(tokens(x, at, at + n), { cache });
      check(r.output.shape.join() === [c.B, n, cfg.dOut].join(), `output shape [${r.output.shape.join(', ')}], expected [${c.B}, ${n}, ${cfg.dOut}]`);
      expectClose(ctx, `output of tokens ${at}..${at + n - 1} (chunks [${c.chunks.join(', ')}])`, compare(r.output, tokens(want, at, at + n), tol));
      at += n;
      check(cache.length === at, `cache length ${cache.length}, expected ${at}`);
    }
  });
}

const FIXED: readonly (DecodeCase & { name: string })[] = [
  { name: 'mha-token-by-token', config: { dIn: 16, heads: 2, headDim: 8, causal: true }, B: 2, chunks: Array(9).fill(1), rollback: 0, seed: 11 },
  { name: 'gqa-bias-chunks-4-1-3-1', config: { dIn: 12, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true, outProjBias: true }, B: 2, chunks: [4, 1, 3, 1], rollback: 0, seed: 21 },
  { name: 'mqa-prefill-then-decode', config: { dIn: 16, heads: 4, kvHeads: 1, headDim: 4, causal: true, qkvBias: true }, B: 1, chunks: [12, 1, 1, 1], rollback: 0, seed: 31 },
  { name: 'rollback-then-continue', config: { dIn: 8, heads: 2, kvHeads: 1, headDim: 4, causal: true, qkvBias: true }, B: 2, chunks: [3, 1, 2, 1, 1], rollback: 2, seed: 41 },
  { name: 'no-out-proj', config: { dIn: 8, heads: 2, headDim: 4, causal: true, outProj: false }, B: 1, chunks: [2, 1, 3], rollback: 1, seed: 51 },
];

const caseArb: fc.Arbitrary<DecodeCase> = fc
  .record({
    headDim: fc.integer({ min: 1, max: 6 }),
    group: fc.integer({ min: 1, max: 3 }),
    kvHeads: fc.integer({ min: 1, max: 2 }),
    dIn: fc.integer({ min: 1, max: 12 }),
    qkvBias: fc.boolean(),
    outProj: fc.boolean(),
    B: fc.integer({ min: 1, max: 2 }),
    chunks: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
    rollback: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map((r) => ({
    config: { dIn: r.dIn, heads: r.kvHeads * r.group, kvHeads: r.kvHeads, headDim: r.headDim, causal: true, qkvBias: r.qkvBias, outProj: r.outProj },
    B: r.B,
    chunks: r.chunks,
    rollback: r.rollback,
    seed: r.seed,
  }));

/** Module KV-cache cases: `numeric/kv-cache/module-*` and `errors/kv-cache/module-*`. */
export function moduleKvCacheCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const c of FIXED) {
    cases.push({
      id: `numeric/kv-cache/module-decode/${c.name}`,
      group: 'numeric',
      spec: SPEC,
      title: `module forward(x_new, { cache }) in chunks [${c.chunks.join(', ')}]${c.rollback ? `, rolling back ${c.rollback} speculative tokens before each` : ''} equals the full causal forward (float64 reference)`,
      needs: needs(c),
      run: (ctx) => decodeEqualsFull(ctx, c),
    });
  }
  cases.push({
    id: `numeric/kv-cache/module-property/runs=${PROPERTY_RUNS}`,
    group: 'numeric',
    spec: SPEC,
    title: 'random causal modules (GQA/MQA, biases, with and without out-proj) decoded in random chunkings with random rollbacks equal the full causal forward (float64 reference)',
    needs: ['cross-attention', 'attn-mask', 'grouped-query'],
    async run(ctx) {
      const seed = propertySeed();
      try {
        await fc.assert(fc.asyncProperty(caseArb, (c) => decodeEqualsFull(ctx, c)), { seed, numRuns: PROPERTY_RUNS, endOnFailure: true });
      } catch (e) {
        throw new ConformanceFailure(`module-property failed (replay with MHA_PROPERTY_SEED=${seed}): ${(e as Error).message.split('\n').slice(0, 8).join('\n')}`);
      }
    },
  });
  const cfg: MhaConfig = { dIn: 8, heads: 4, kvHeads: 2, headDim: 2, causal: true };
  const x = randomTensor([1, 2, 8], 5);
  const errors: [string, MhaConfig, (m: MhaModule) => unknown, MhaErrorCode, string, unknown][] = [
    ['module-cache-kv-heads', cfg, () => ({ cache: createModuleCache({ config: { kvHeads: 4, headDim: 2 } }, 1, 4) }), MhaErrorCode.DimMismatch, 'options.cache.kvHeads', 4],
    ['module-cache-head-dim', cfg, () => ({ cache: createModuleCache({ config: { kvHeads: 2, headDim: 3 } }, 1, 4) }), MhaErrorCode.DimMismatch, 'options.cache.keyDim', 3],
    ['module-cache-batch', cfg, (m) => ({ cache: createModuleCache(m, 2, 4) }), MhaErrorCode.DimMismatch, 'options.cache.batch', 2],
    ['module-cache-full', cfg, (m) => ({ cache: createModuleCache(m, 1, 1) }), MhaErrorCode.CacheFull, 'x.shape[1]', 2],
    ['module-cache-not-causal', { ...cfg, causal: false }, (m) => ({ cache: createModuleCache(m, 1, 4) }), MhaErrorCode.InvalidOption, 'config.causal', false],
    ['module-cache-top-left', cfg, (m) => ({ cache: createModuleCache(m, 1, 4), causalAlign: 'top-left' }), MhaErrorCode.InvalidOption, 'options.causalAlign', 'top-left'],
    ['module-cache-not-a-cache', cfg, () => ({ cache: 'cache' }), MhaErrorCode.InvalidType, 'options.cache', 'cache'],
  ];
  for (const [name, config, options, code, field, value] of errors) {
    cases.push({
      id: `errors/kv-cache/${name}`,
      group: 'errors',
      spec: SPEC,
      title: `module cache error: ${code} at ${field}`,
      async run({ backend }) {
        await withModule(backend, config, initWeights(resolveConfig(config), 1), (m) => expectError({ code, field, value }, name, backend, () => m.forward(x, options(m) as never)));
      },
    });
  }
  return cases;
}
