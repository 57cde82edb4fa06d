import fc from 'fast-check';
import {
  createKvCache,
  createModuleCache,
  initWeights,
  MhaErrorCode,
  randomTensor,
  referenceForward,
  resolveConfig,
  type AttentionMask,
  type Capability,
  type ForwardOptions,
  type MhaConfig,
  type MhaModule,
  type ResolvedMhaConfig,
  type Tensor,
  type WeightsStage,
} from '@mha/core';
import { check, ConformanceFailure, expectClose, type CaseContext, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { withModule } from '../util.js';
import { maxAbs, scaled } from './both-paths.js';
import { expectError } from './errors.js';
import { propertySeed } from './properties.js';
import type { ModuleFeatureFixture } from '../module-fixtures.js';

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
  /** Per chunk, the `validLengths` given with it (undefined: every token real), padding on `side`. */
  readonly padding?: { readonly lengths: readonly (readonly number[] | undefined)[]; readonly side: 'left' | 'right' } | undefined;
}

/** `[B, T]` flags (1 = real token) of a decode schedule with `validLengths` per chunk. */
function validity(B: number, chunks: readonly number[], padding: DecodeCase['padding']): Uint8Array {
  const T = chunks.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(B * T).fill(1);
  let at = 0;
  chunks.forEach((n, c) => {
    const lengths = padding?.lengths[c];
    if (lengths) {
      for (let b = 0; b < B; b++) {
        const real = lengths[b]!;
        const [from, to] = padding!.side === 'left' ? [0, n - real] : [real, n];
        out.fill(0, b * T + at + from, b * T + at + to);
      }
    }
    at += n;
  });
  return out;
}

/** Options of chunk `c` of a schedule: its `validLengths` and side, when padded. */
function chunkPadding(padding: DecodeCase['padding'], c: number): ForwardOptions {
  const lengths = padding?.lengths[c];
  return lengths ? { validLengths: [...lengths], paddingSide: padding!.side } : {};
}

/**
 * The oracle of a padded schedule: the float64 reference's causal forward of the whole sequence with the
 * padding as a key-padding mask (a padding token is a key no query sees; its own row is computed as any other).
 */
function fullReference(cfg: ResolvedMhaConfig, weights: ReturnType<typeof initWeights>, x: Tensor, B: number, chunks: readonly number[], padding: DecodeCase['padding']): Tensor {
  const T = x.shape[1]!;
  const options: ForwardOptions = padding ? { keyPaddingMask: { kind: 'bool', data: validity(B, chunks, padding), shape: [B, T] } } : {};
  const full = referenceForward(cfg, weights, x, options).output;
  return { data: Float32Array.from(full.data), shape: full.shape };
}

/**
 * Capabilities the cached path uses on the core op: a step with a past is `Tq != Tk` (cross-attention); a
 * step of several tokens over a past is causal with an offset, which core lowers to a mask (attn-mask);
 * GQA needs grouped-query.
 */
function needs(c: DecodeCase): Capability[] {
  const cfg = resolveConfig(c.config);
  const need: Capability[] = ['cross-attention'];
  if (c.chunks.slice(1).some((n) => n > 1) || (c.chunks.length > 1 && c.rollback > 1) || c.padding) need.push('attn-mask');
  if (cfg.kvHeads !== cfg.heads) need.push('grouped-query');
  return need;
}

async function decodeEqualsFull(ctx: CaseContext, c: DecodeCase): Promise<void> {
  const cfg = resolveConfig(c.config);
  const weights = initWeights(cfg, c.seed);
  const T = c.chunks.reduce((a, b) => a + b, 0);
  const x = randomTensor([c.B, T, cfg.dIn], c.seed + 1);
  const want = fullReference(cfg, weights, x, c.B, c.chunks, c.padding);
  const tol = scaled(ctx.tolerance, maxAbs(want.data));
  await withModule(ctx.backend, cfg, weights, async (m: MhaModule) => {
    const cache = createModuleCache(m, c.B, T + c.rollback);
    let at = 0;
    for (const [ci, n] of c.chunks.entries()) {
      if (at > 0 && c.rollback > 0) {
        // Speculative tokens that get rejected: decoded, then rolled back.
        await m.forward(randomTensor([c.B, c.rollback, cfg.dIn], c.seed + 7 + at, 3), { cache });
        check(cache.length === at + c.rollback, `cache length ${cache.length} after ${c.rollback} speculative tokens, expected ${at + c.rollback}`);
        cache.truncate(at);
      }
      const r = await m.forward(tokens(x, at, at + n), { cache, ...chunkPadding(c.padding, ci) });
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
  {
    name: 'left-padding-gqa',
    config: { dIn: 12, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true },
    B: 3,
    chunks: [5, 1, 2, 1],
    rollback: 1,
    seed: 61,
    padding: { lengths: [[5, 2, 0], undefined, [2, 1, 2], undefined], side: 'left' },
  },
  {
    name: 'right-padding-mqa',
    config: { dIn: 8, heads: 2, kvHeads: 1, headDim: 4, causal: true, qkvBias: true, outProjBias: true },
    B: 2,
    chunks: [4, 2, 1, 1],
    rollback: 0,
    seed: 71,
    padding: { lengths: [[4, 1], [0, 2], undefined, [1, 0]], side: 'right' },
  },
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
    side: fc.constantFrom(undefined, 'left' as const, 'right' as const),
    fractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 12, maxLength: 12 }),
  })
  .map((r) => ({
    config: { dIn: r.dIn, heads: r.kvHeads * r.group, kvHeads: r.kvHeads, headDim: r.headDim, causal: true, qkvBias: r.qkvBias, outProj: r.outProj },
    B: r.B,
    chunks: r.chunks,
    rollback: r.rollback,
    seed: r.seed,
    // Random valid lengths per chunk and row (every other chunk padded), from the drawn fractions.
    padding: r.side && {
      side: r.side,
      lengths: r.chunks.map((n, c) => (c % 2 === 0 ? Array.from({ length: r.B }, (_, b) => Math.round(r.fractions[(c * 2 + b) % 12]! * n)) : undefined)),
    },
  }));

/** Module KV-cache cases: `numeric/kv-cache/module-*` and `errors/kv-cache/module-*`. */
export function moduleKvCacheCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const c of FIXED) {
    cases.push({
      id: `numeric/kv-cache/module-decode/${c.name}`,
      group: 'numeric',
      spec: SPEC,
      title: `module forward(x_new, { cache }) in chunks [${c.chunks.join(', ')}]${c.rollback ? `, rolling back ${c.rollback} speculative tokens before each` : ''}${c.padding ? `, ${c.padding.side}-padded (validLengths)` : ''} equals the full causal forward${c.padding ? ' with the padding as key-padding mask' : ''} (float64 reference)`,
      needs: needs(c),
      run: (ctx) => decodeEqualsFull(ctx, c),
    });
  }
  cases.push({
    id: `numeric/kv-cache/module-property/runs=${PROPERTY_RUNS}`,
    group: 'numeric',
    spec: SPEC,
    title: 'random causal modules (GQA/MQA, biases, with and without out-proj) decoded in random chunkings with random rollbacks and random left/right padding (validLengths) equal the full causal forward with that padding as key-padding mask (float64 reference)',
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
  cases.push(...moduleMaskedDecodeCases());
  const cfg: MhaConfig = { dIn: 8, heads: 4, kvHeads: 2, headDim: 2, causal: true };
  const x = randomTensor([1, 2, 8], 5);
  /** A module cache already holding `n` keys (appended directly: no forward needed). */
  const prefilled = (m: MhaModule, n: number) => {
    const c = createModuleCache(m, 1, n + 2);
    c.append(randomTensor([1, 2, n, 2], 8), randomTensor([1, 2, n, 2], 9));
    return c;
  };
  const errors: [string, MhaConfig, (m: MhaModule) => unknown, MhaErrorCode, string, unknown][] = [
    ['module-cache-kv-heads', cfg, () => ({ cache: createModuleCache({ config: { kvHeads: 4, headDim: 2 } }, 1, 4) }), MhaErrorCode.DimMismatch, 'options.cache.kvHeads', 4],
    ['module-cache-head-dim', cfg, () => ({ cache: createModuleCache({ config: { kvHeads: 2, headDim: 3 } }, 1, 4) }), MhaErrorCode.DimMismatch, 'options.cache.keyDim', 3],
    ['module-cache-batch', cfg, (m) => ({ cache: createModuleCache(m, 2, 4) }), MhaErrorCode.DimMismatch, 'options.cache.batch', 2],
    ['module-cache-full', cfg, (m) => ({ cache: createModuleCache(m, 1, 1) }), MhaErrorCode.CacheFull, 'x.shape[1]', 2],
    ['module-cache-not-causal', { ...cfg, causal: false }, (m) => ({ cache: createModuleCache(m, 1, 4) }), MhaErrorCode.InvalidOption, 'config.causal', false],
    ['module-cache-top-left', cfg, (m) => ({ cache: createModuleCache(m, 1, 4), causalAlign: 'top-left' }), MhaErrorCode.InvalidOption, 'options.causalAlign', 'top-left'],
    ['module-cache-not-a-cache', cfg, () => ({ cache: 'cache' }), MhaErrorCode.InvalidType, 'options.cache', 'cache'],
    ['module-cache-valid-length-range', cfg, (m) => ({ cache: createModuleCache(m, 1, 4), validLengths: [3] }), MhaErrorCode.InvalidOption, 'options.validLengths[0]', 3],
    ['module-cache-valid-lengths-batch', cfg, (m) => ({ cache: createModuleCache(m, 1, 4), validLengths: [1, 1] }), MhaErrorCode.DimMismatch, 'options.validLengths.length', 2],
    ['module-cache-valid-lengths-no-cache', cfg, () => ({ validLengths: [1] }), MhaErrorCode.InvalidOption, 'options.validLengths', 'without cache'],
    ['module-cache-padding-side', cfg, (m) => ({ cache: createModuleCache(m, 1, 4), validLengths: [1], paddingSide: 'top' }), MhaErrorCode.InvalidOption, 'options.paddingSide', 'top'],
    ['module-cache-weights-stage', cfg, (m) => ({ cache: createModuleCache(m, 1, 4), returnWeights: true, weightsStage: 'logits' }), MhaErrorCode.InvalidOption, 'options.weightsStage', 'logits'],
    // With a cache the key axis is cached + new keys: a mask over the new tokens only is the wrong size.
    ['module-cache-mask-key-axis', cfg, (m) => ({ cache: prefilled(m, 3), mask: { kind: 'bool', data: new Uint8Array(4).fill(1), shape: [2, 2] } }), MhaErrorCode.DimMismatch, 'options.mask.shape[1]', 2],
    ['module-cache-kpm-key-axis', cfg, (m) => ({ cache: prefilled(m, 1), keyPaddingMask: { kind: 'bool', data: new Uint8Array(2).fill(1), shape: [1, 2] } }), MhaErrorCode.DimMismatch, 'options.keyPaddingMask.shape[1]', 2],
  ];
  cases.push({
    id: 'errors/kv-cache/module-cache-padding-core-op',
    group: 'errors',
    spec: SPEC,
    title: 'the core op refuses a cache holding padding keys (module validLengths): MHA_INVALID_OPTION at options.cache',
    // Filling the cache with padding runs a padded module step: GQA with a padding mask.
    needs: ['grouped-query', 'attn-mask'],
    async run({ backend }) {
      const cache = createKvCache({ batch: 1, kvHeads: 2, capacity: 4, keyDim: 2, valueDim: 2 });
      await withModule(backend, cfg, initWeights(resolveConfig(cfg), 1), (m) => m.forward(x, { cache, validLengths: [1], paddingSide: 'left' }));
      const t = randomTensor([1, 2, 1, 2], 3);
      await expectError({ code: MhaErrorCode.InvalidOption, field: 'options.cache', value: 'with padding' }, 'module-cache-padding-core-op', backend, () => backend.attention({ data: new Float32Array(4 * 2), shape: [1, 4, 1, 2] }, t, t, { cache }));
    },
  });
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

/** Rows `from..to` of `[B, H, T, T]` (or `[B, T, T]`) and its first `keys` key columns. */
function block(w: Tensor | { data: ArrayLike<number>; shape: readonly number[] }, from: number, to: number, keys: number): Tensor {
  const shape = w.shape;
  const T = shape[shape.length - 2]!;
  const K = shape[shape.length - 1]!;
  const lead = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const out = new Float32Array(lead * (to - from) * keys);
  let o = 0;
  for (let l = 0; l < lead; l++) for (let i = from; i < to; i++) for (let j = 0; j < keys; j++) out[o++] = w.data[(l * T + i) * K + j]!;
  return { data: out, shape: [...shape.slice(0, -2), to - from, keys] };
}

/** The first `keys` columns of a `[B, T]` key-padding mask. */
function keyPrefix(m: AttentionMask, keys: number): AttentionMask {
  const [B, T] = m.shape as [number, number];
  const data = m.kind === 'bool' ? new Uint8Array(B * keys) : new Float32Array(B * keys);
  for (let b = 0; b < B; b++) data.set(m.data.subarray(b * T, b * T + keys), b * keys);
  return { kind: m.kind, data, shape: [B, keys] } as AttentionMask;
}

/** A mask `[.., T, T]` cut to the rows of tokens `from..to` over keys `0..to` (what that chunk's call covers). */
function maskBlock(m: AttentionMask, from: number, to: number): AttentionMask {
  const b = block({ data: m.data, shape: m.shape }, from, to, to);
  return m.kind === 'bool' ? { kind: 'bool', data: Uint8Array.from(b.data), shape: [...b.shape] } : { kind: 'additive', data: b.data, shape: [...b.shape] };
}

/** The shape trace of a cached step of `n` tokens over `past` keys (SPEC.md, "Module KV cache"). */
function cachedTrace(cfg: ResolvedMhaConfig, B: number, n: number, past: number): string {
  const { dIn, heads: H, kvHeads: Hkv, headDim: dh, dOut } = cfg;
  const T = past + n;
  const steps: [string, number[]][] = [['input', [B, n, dIn]]];
  if (past === 0 && H === Hkv) steps.push(['qkv', [B, n, 3, H, dh]]);
  steps.push(['q', [B, H, n, dh]], ['k', [B, Hkv, T, dh]], ['v', [B, Hkv, T, dh]], ['scores', [B, H, n, T]], ['weights', [B, H, n, T]], ['context', [B, H, n, dh]], ['merged', [B, n, dOut]], ['output', [B, n, dOut]]);
  return steps.map(([s, shape]) => `${s}:${shape.join('x')}`).join(' ');
}

interface MaskedDecodeCase {
  readonly name: string;
  readonly config: MhaConfig;
  readonly B: number;
  readonly chunks: readonly number[];
  readonly mask: 'bool-4d' | 'additive-2d' | undefined;
  readonly kpm: 'bool' | 'additive' | undefined;
  readonly average: boolean;
  readonly seed: number;
}

const MASKED: readonly MaskedDecodeCase[] = [
  { name: 'gqa-bool-mask-bool-kpm', config: { dIn: 12, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true }, B: 2, chunks: [3, 1, 2, 1], mask: 'bool-4d', kpm: 'bool', average: false, seed: 81 },
  { name: 'mha-additive-mask-averaged', config: { dIn: 8, heads: 2, headDim: 4, causal: true, outProjBias: true }, B: 2, chunks: [2, 2, 1, 1], mask: 'additive-2d', kpm: undefined, average: true, seed: 91 },
  { name: 'mqa-additive-kpm-token-by-token', config: { dIn: 8, heads: 4, kvHeads: 1, headDim: 2, causal: true }, B: 1, chunks: [1, 1, 1, 1, 1], mask: undefined, kpm: 'additive', average: false, seed: 101 },
];

function lcgBools(n: number, seed: number, pTrue: number): Uint8Array {
  let s = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 < pTrue ? 1 : 0;
  }
  return out;
}

/**
 * Decoding with masks over the cached keys, weights over the whole cache, every score stage and the trace:
 * each chunk's call gets the rows of one whole-sequence mask (and key-padding mask prefix) that cover it,
 * so the float64 reference's whole-sequence forward with those masks is the oracle for every row, weight
 * and stage. Each chunk is first run at the three stages before the softmax (then truncated away: a rollback).
 */
async function maskedDecode(ctx: CaseContext, c: MaskedDecodeCase): Promise<void> {
  const cfg = resolveConfig(c.config);
  const weights = initWeights(cfg, c.seed);
  const T = c.chunks.reduce((a, b) => a + b, 0);
  const H = cfg.heads;
  const x = randomTensor([c.B, T, cfg.dIn], c.seed + 1);
  let mask: AttentionMask | undefined;
  if (c.mask === 'bool-4d') {
    const data = lcgBools(c.B * H * T * T, c.seed + 2, 0.7);
    for (let r = 0; r < c.B * H * T; r++) data[r * T] = 1;
    mask = { kind: 'bool', data, shape: [c.B, H, T, T] };
  } else if (c.mask === 'additive-2d') {
    const r = randomTensor([T, T], c.seed + 3);
    mask = { kind: 'additive', data: Float32Array.from(r.data, (v, i) => (i % 7 === 4 && i % T !== 0 ? -Infinity : v)), shape: [T, T] };
  }
  let kpm: AttentionMask | undefined;
  if (c.kpm === 'bool') {
    const data = lcgBools(c.B * T, c.seed + 4, 0.7);
    for (let b = 0; b < c.B; b++) data[b * T] = 1;
    kpm = { kind: 'bool', data, shape: [c.B, T] };
  } else if (c.kpm === 'additive') {
    const r = randomTensor([c.B, T], c.seed + 5);
    kpm = { kind: 'additive', data: Float32Array.from(r.data, (v, i) => (i % 3 === 2 ? -Infinity : v)), shape: [c.B, T] };
  }
  const ref = referenceForward(cfg, weights, x, { ...(mask ? { mask } : {}), ...(kpm ? { keyPaddingMask: kpm } : {}) });
  const refOut = { data: Float32Array.from(ref.output.data), shape: ref.output.shape };
  const tol = scaled(ctx.tolerance, maxAbs(refOut.data));
  await withModule(ctx.backend, cfg, weights, async (m) => {
    // The module's weightsStage without a cache first: the whole sequence at once.
    for (const stage of ['scores', 'masked'] as const) {
      const r = await m.forward(x, { ...(mask ? { mask } : {}), ...(kpm ? { keyPaddingMask: kpm } : {}), returnWeights: true, weightsStage: stage });
      const want = ref.stages[stage];
      check(r.weights !== undefined, `no weights with returnWeights and weightsStage '${stage}' (no cache)`);
      expectClose(ctx, `${stage} stage of the whole sequence (no cache)`, compare(r.weights!, want, scaled(ctx.tolerance, maxAbs(want.data.filter(Number.isFinite)))));
    }
    const cache = createModuleCache(m, c.B, T);
    let at = 0;
    for (const n of c.chunks) {
      const to = at + n;
      const options: ForwardOptions = { cache, ...(mask ? { mask: maskBlock(mask, at, to) } : {}), ...(kpm ? { keyPaddingMask: keyPrefix(kpm, to) } : {}) };
      const where = `tokens ${at}..${to - 1} over ${at} cached keys`;
      for (const stage of ['scores', 'softcapped', 'masked'] as const satisfies readonly WeightsStage[]) {
        const r = await m.forward(tokens(x, at, to), { ...options, returnWeights: true, weightsStage: stage });
        check(cache.length === to, `cache length ${cache.length} after the ${stage} call, expected ${to}`);
        cache.truncate(at);
        const want = block(stage === 'masked' ? ref.stages.masked : ref.stages.scores, at, to, to);
        check(r.weights !== undefined, `no weights with returnWeights and weightsStage '${stage}'`);
        expectClose(ctx, `${stage} stage of ${where}`, compare(r.weights!, want, scaled(ctx.tolerance, maxAbs(want.data.filter(Number.isFinite)))));
      }
      const r = await m.forward(tokens(x, at, to), { ...options, returnWeights: true, averageWeights: c.average, trace: true });
      expectClose(ctx, `output of ${where}`, compare(r.output, tokens(refOut, at, to), tol));
      const refW = c.average ? ref.averagedWeights : ref.attentionWeights;
      check(r.weights !== undefined, 'no weights with returnWeights');
      expectClose(ctx, `${c.average ? 'averaged ' : ''}weights of ${where} (over all ${to} keys)`, compare(r.weights!, block(refW, at, to, to), ctx.tolerance));
      const trace = r.trace?.map((e) => `${e.step}:${e.shape.join('x')}`).join(' ');
      const wantTrace = cachedTrace(cfg, c.B, n, at);
      check(trace === wantTrace, `trace of ${where}: ${String(trace)} != ${wantTrace}`);
      at = to;
      check(cache.length === at, `cache length ${cache.length}, expected ${at}`);
    }
  });
}

/** Cases of a torch incremental-decoding fixture (fixtures/module-features/decode-*.json, `decode` section). */
export function moduleDecodeFixtureCases(fixtures: readonly ModuleFeatureFixture[]): ConformanceCase[] {
  return fixtures.flatMap((f) => {
    const d = f.decode;
    if (!d) return [];
    const B = f.x.shape[0]!;
    const padding: DecodeCase['padding'] = d.validLengths ? { lengths: d.validLengths.map((l) => l ?? undefined), side: d.paddingSide ?? 'right' } : undefined;
    const c: DecodeCase = { config: f.config, B, chunks: d.chunks, rollback: 0, seed: 0, padding };
    return [
      {
        id: `numeric/kv-cache/module-torch/${f.id}`,
        group: 'numeric' as const,
        spec: SPEC,
        title: `${f.description} Each chunk's rows vs torch's own incremental decoding (oracle: ${f.oracle}) and vs the float64 reference's whole-sequence forward.`,
        needs: needs(c),
        async run(ctx: CaseContext) {
          const want = fullReference(f.config, f.weights, f.x, B, d.chunks, padding);
          const torch = f.expected.output;
          await withModule(ctx.backend, f.config, f.weights, async (m) => {
            const cache = createModuleCache(m, B, f.x.shape[1]!);
            let at = 0;
            for (const [ci, n] of d.chunks.entries()) {
              const r = await m.forward(tokens(f.x, at, at + n), { cache, ...chunkPadding(padding, ci) });
              const t = tokens(torch, at, at + n);
              expectClose(ctx, `tokens ${at}..${at + n - 1} vs torch`, compare(r.output, t, scaled(ctx.tolerance, maxAbs(t.data))));
              expectClose(ctx, `tokens ${at}..${at + n - 1} vs float64 reference`, compare(r.output, tokens(want, at, at + n), scaled(ctx.tolerance, maxAbs(want.data))));
              at += n;
            }
          });
        },
      },
    ];
  });
}

/** Masks over the cached keys, weights, score stages and trace with a module cache (`numeric/kv-cache/module-masked/*`). */
export function moduleMaskedDecodeCases(): ConformanceCase[] {
  return MASKED.map((c) => ({
    id: `numeric/kv-cache/module-masked/${c.name}`,
    group: 'numeric' as const,
    spec: SPEC,
    title: `weightsStage without a cache, then decoding in chunks [${c.chunks.join(', ')}] with ${[c.mask && `a ${c.mask} mask`, c.kpm && `a ${c.kpm} key-padding mask`].filter(Boolean).join(' and ')} over the cached keys: output, ${c.average ? 'averaged ' : ''}weights over the whole cache, the three score stages before the softmax and the trace vs the float64 reference's whole-sequence forward`,
    needs: ['cross-attention', 'attn-mask', ...(resolveConfig(c.config).kvHeads !== resolveConfig(c.config).heads ? (['grouped-query'] as const) : [])],
    run: (ctx) => maskedDecode(ctx, c),
  }));
}
