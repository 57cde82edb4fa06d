import { formatShape, randomTensor, seededRandom, type AttentionMask, type AttentionOptions, type Capability, type Tensor } from '@mha/core';
import { check, type CaseContext, type ConformanceCase, type Group } from '../case.js';
import { coreOpEveryPath } from './both-paths.js';

/** float32's lowest finite value: a number to add, not a mask (SPEC.md, "Masks in float32"). */
export const FLOAT32_LOWEST = -3.4028234663852886e38;

/** The capabilities a core-op call with these shapes and options needs (what core's `requiredCapabilities` checks). */
export function coreOpNeeds(q: readonly number[], k: readonly number[], v: readonly number[], options: AttentionOptions): Capability[] {
  const needs: Capability[] = [];
  if (q[2] !== k[2]) needs.push('cross-attention');
  if (q[1] !== k[1]) needs.push('grouped-query');
  if (q[3] !== v[3]) needs.push('value-head-dim');
  if (options.mask) needs.push('attn-mask');
  if ((options.softcap ?? 0) > 0) needs.push('softcap');
  return needs;
}

/** A seeded bool mask: each byte is one of `bytes` (0 = masked) with the given probabilities' order. */
export function randomBoolMask(shape: readonly number[], seed: number, keep = 0.7, attendBytes: readonly number[] = [1]): AttentionMask {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = rand() < keep ? attendBytes[Math.floor(rand() * attendBytes.length)]! : 0;
  return { kind: 'bool', data, shape: [...shape] };
}

/** An additive mask from explicit values (row-major). */
export function additiveMask(shape: readonly number[], values: readonly number[]): AttentionMask {
  if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`mask values do not fill ${formatShape(shape)}`);
  return { kind: 'additive', data: Float32Array.from(values), shape: [...shape] };
}

/** A bool mask from explicit bytes (row-major). */
export function boolMask(shape: readonly number[], bytes: readonly number[]): AttentionMask {
  if (bytes.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`mask bytes do not fill ${formatShape(shape)}`);
  return { kind: 'bool', data: Uint8Array.from(bytes), shape: [...shape] };
}

/** One core-op case: seeded q/k/v (uniform in +-inputScale), options, and an optional extra check on the weights. */
export interface CoreOpCase {
  readonly name: string;
  readonly title: string;
  readonly q: readonly number[];
  readonly k: readonly number[];
  readonly v: readonly number[];
  readonly options: AttentionOptions;
  readonly inputScale?: number | undefined;
  /** An oracle besides the reference (e.g. "this row is uniform", from float32 torch or the math). */
  readonly extra?: ((weights: Tensor) => void) | undefined;
}

/** Fails unless weight row `row` (flat, over the last dim of length `tk`) is uniform over its first `n` keys and 0 after. */
export function expectUniformRow(w: Tensor, row: number, n: number, what: string): void {
  const tk = w.shape[w.shape.length - 1]!;
  for (let j = 0; j < tk; j++) {
    const got = w.data[row * tk + j]!;
    const want = j < n ? 1 / n : 0;
    check(Math.abs(got - want) <= 1e-6, `${what}: weight row ${row} key ${j} is ${got}, expected ${want}`);
  }
}

/** Builds conformance cases from {@link CoreOpCase}s; each runs with and without `returnWeights` against the float64 reference. */
export function coreOpCases(group: Group, prefix: string, spec: string, list: readonly CoreOpCase[], seedBase: number): ConformanceCase[] {
  return list.map((c, i) => {
    const seed = seedBase + 3 * i;
    return {
      id: `${prefix}/${c.name}/q=${formatShape(c.q)},k=${formatShape(c.k)},v=${formatShape(c.v)},seed=${seed}`,
      group,
      spec,
      title: c.title,
      needs: coreOpNeeds(c.q, c.k, c.v, c.options),
      async run(ctx: CaseContext) {
        const s = c.inputScale ?? 1;
        const r = await coreOpEveryPath(ctx, randomTensor(c.q, seed, s), randomTensor(c.k, seed + 1, s), randomTensor(c.v, seed + 2), c.options);
        c.extra?.(r.weights);
      },
    };
  });
}

const L = FLOAT32_LOWEST;
const NI = -Infinity;

/** Feature combinations of the core op, each against the float64 reference on both code paths. */
export const FEATURE_CASES: readonly CoreOpCase[] = [
  { name: 'softcap-causal', title: 'soft-cap with causal: capped scores, then the causal mask', q: [2, 2, 7, 4], k: [2, 2, 7, 4], v: [2, 2, 7, 4], options: { softcap: 0.8, causal: true }, inputScale: 3 },
  {
    name: 'softcap-additive-mask',
    title: 'soft-cap then an additive mask (finite values are added after capping; -Infinity masks)',
    q: [1, 2, 4, 4],
    k: [1, 2, 4, 4],
    v: [1, 2, 4, 4],
    options: { softcap: 1.2, mask: additiveMask([4, 4], [0, -2, 3, NI, 0.5, 0, NI, 1, 0, 0, 0, 0, NI, 4, -1, 0]) },
    inputScale: 3,
  },
  { name: 'softcap-bool-mask-causal', title: 'soft-cap with a per-batch bool mask and causal', q: [2, 2, 6, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], options: { softcap: 2, causal: true, mask: randomBoolMask([2, 1, 6, 6], 11) }, inputScale: 3 },
  { name: 'gqa-per-head-bool-mask', title: 'grouped-query (6 query heads over 2 KV heads) with a per-query-head bool mask [B, Hq, Tq, Tk]', q: [2, 6, 5, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], options: { mask: randomBoolMask([2, 6, 5, 5], 12, 0.6) } },
  {
    name: 'gqa-per-head-additive-mask',
    title: 'grouped-query with a per-query-head additive key mask [1, Hq, 1, Tk], causal',
    q: [1, 4, 5, 4],
    k: [1, 2, 5, 4],
    v: [1, 2, 5, 4],
    options: { causal: true, mask: additiveMask([1, 4, 1, 5], [0, 1, -1, 0, 2, NI, 0, 3, 0, 0, 0, 0, -5, 0, 1, 2, 0.5, NI, 0, 0]) },
  },
  {
    name: 'key-padding-bool',
    title: 'bool key-padding mask [B, 1, 1, Tk]: batch 0 pads 2 keys, batch 1 none, batch 2 all (zeros)',
    q: [3, 2, 4, 4],
    k: [3, 2, 4, 4],
    v: [3, 2, 4, 4],
    options: { mask: boolMask([3, 1, 1, 4], [1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]) },
    extra: (w) => check(w.data.subarray(2 * 2 * 4 * 4).every((x) => x === 0), 'batch 2 has every key padded: its weights must be exactly 0'),
  },
  { name: 'key-padding-additive', title: 'additive key-padding mask [B, 1, 1, Tk] with -Infinity and finite values', q: [2, 3, 4, 4], k: [2, 3, 4, 4], v: [2, 3, 4, 4], options: { mask: additiveMask([2, 1, 1, 4], [0, 0, NI, NI, -1, 0, 2, NI]) } },
  {
    name: 'rank3-mask-additive',
    title: 'a rank-3 mask [Hq, Tq, Tk] is right-aligned (one mask per head, shared by the batch), B != Hq',
    q: [2, 3, 5, 4],
    k: [2, 3, 5, 4],
    v: [2, 3, 5, 4],
    options: { mask: additiveMask([3, 5, 5], Array.from({ length: 75 }, (_, i) => (i % 7 === 3 ? NI : ((i * 37) % 11) - 5))) },
  },
  { name: 'rank3-mask-bool', title: 'a rank-3 bool mask [Hq, Tq, Tk] is right-aligned, B != Hq', q: [2, 3, 5, 4], k: [2, 3, 5, 4], v: [2, 3, 5, 4], options: { mask: randomBoolMask([3, 5, 5], 13, 0.6) } },
  {
    name: 'query-broadcast-bool',
    title: 'a bool mask [Tq, 1] broadcasts each query row over every key (rows of 0 give zeros)',
    q: [1, 2, 5, 4],
    k: [1, 2, 5, 4],
    v: [1, 2, 5, 4],
    options: { mask: boolMask([5, 1], [1, 0, 1, 1, 0]) },
    extra: (w) => {
      for (const row of [1, 4, 6, 9]) for (let j = 0; j < 5; j++) check(w.data[row * 5 + j] === 0, `query row ${row % 5} is masked by [Tq, 1]: weight must be 0`);
    },
  },
  {
    name: 'query-broadcast-additive',
    title: 'an additive mask [Tq, 1] adds one value per query row (softmax-invariant) or masks it (-Infinity)',
    q: [1, 2, 5, 4],
    k: [1, 2, 5, 4],
    v: [1, 2, 5, 4],
    options: { causal: true, mask: additiveMask([5, 1], [0, NI, 5, -3, 100]) },
  },
  {
    name: 'bool-mask-bytes',
    title: 'bool mask bytes other than 0/1: any nonzero byte (2, 128, 255) attends',
    q: [2, 2, 5, 4],
    k: [2, 2, 5, 4],
    v: [2, 2, 5, 4],
    options: { mask: randomBoolMask([2, 1, 5, 5], 14, 0.75, [1, 2, 128, 255]) },
  },
  {
    name: 'float32-lowest-additive',
    title: 'additive mask values of -3.4028234663852886e38 (float32 lowest) are numbers: a row of them gives uniform weights',
    q: [1, 2, 4, 5],
    k: [1, 2, 4, 5],
    v: [1, 2, 4, 5],
    options: { mask: additiveMask([4, 4], [L, L, L, L, 0, L, 0, 0, L, NI, L, 0, 0, 0, 0, 0]) },
    // Row 0 of each head: every key carries the same finite value, so softmax is uniform (float32 torch agrees).
    extra: (w) => [0, 4].forEach((row) => expectUniformRow(w, row, 4, 'a row of float32-lowest')),
  },
  { name: 'scale-0', title: 'scale 0: every visible key weighs the same', q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { scale: 0, causal: true }, extra: (w) => expectUniformRow(w, 3, 4, 'scale 0') },
  { name: 'scale-negative-zero', title: 'scale -0 behaves as 0', q: [1, 1, 4, 4], k: [1, 1, 4, 4], v: [1, 1, 4, 4], options: { scale: -0 }, extra: (w) => expectUniformRow(w, 2, 4, 'scale -0') },
  { name: 'scale-negative', title: 'a negative scale flips the scores (it is not "unset")', q: [2, 2, 5, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], options: { scale: -0.75, causal: true } },
  { name: 'scale-tiny', title: 'scale 1e-30: scores vanish, weights are uniform', q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { scale: 1e-30 } },
  { name: 'scale-below-float32', title: 'scale 1e-46 (rounds to 0 in float32) is valid and gives uniform weights', q: [1, 1, 5, 4], k: [1, 1, 5, 4], v: [1, 1, 5, 4], options: { scale: 1e-46 } },
  { name: 'scale-huge-tiny-inputs', title: 'scale 1e30 on inputs of 1e-16: scores of order 1e-2', q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { scale: 1e30 }, inputScale: 1e-16 },
  { name: 'scale-0-large-logits', title: 'scale 0 with inputs of 1e3 (raw logits near 1e6): uniform weights', q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { scale: 0 }, inputScale: 1e3, extra: (w) => expectUniformRow(w, 0, 5, 'scale 0') },
  { name: 'scale-negative-large-logits', title: 'scale -2 with inputs of 30: scores near -1e3, one-hot on the smallest raw score', q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { scale: -2, causal: true }, inputScale: 30 },
  { name: 'scale-tiny-large-logits', title: 'scale 1e-30 with inputs of 1e3: uniform weights', q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { scale: 1e-30 }, inputScale: 1e3 },
  { name: 'scale-1e4-large-logits', title: 'scale 1e4 with inputs of 3: scores near 1e5 stay finite (max-subtracted softmax)', q: [1, 2, 5, 4], k: [1, 2, 5, 4], v: [1, 2, 5, 4], options: { scale: 1e4, causal: true }, inputScale: 3 },
];

/** Causal alignment when Tq != Tk (top-left, SPEC.md#causal-mask), both code paths. */
export const CAUSAL_ALIGNMENT_CASES: readonly CoreOpCase[] = [
  {
    name: 'decode-tq1',
    title: 'causal with Tq = 1 < Tk (decode-shaped, no cache): top-left, so the one query sees key 0 only',
    q: [2, 2, 1, 8],
    k: [2, 2, 9, 8],
    v: [2, 2, 9, 8],
    options: { causal: true },
    extra: (w) => {
      for (let r = 0; r < 4; r++) for (let j = 0; j < 9; j++) check(w.data[r * 9 + j] === (j === 0 ? 1 : 0), `row ${r} key ${j}: weight ${w.data[r * 9 + j]}, expected ${j === 0 ? 1 : 0}`);
    },
  },
  { name: 'tq-gt-tk', title: 'causal with Tq > Tk: query i sees keys 0..min(i, Tk-1)', q: [1, 2, 9, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 4], options: { causal: true } },
  { name: 'decode-tq1-masked', title: 'decode-shaped causal with a key-padding mask', q: [2, 2, 1, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], options: { causal: true, mask: boolMask([2, 1, 1, 6], [1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1]) } },
];

/**
 * SPEC.md "Masks in float32": the score and the additive mask are float32 values, so a large finite mask
 * value absorbs the score; every backend (and float32 torch) gives uniform weights for a row of -1e9.
 */
export const MASKS_IN_FLOAT32_CASES: readonly CoreOpCase[] = [
  {
    name: 'row-of-minus-1e9',
    title: 'a query row whose keys all carry -1e9 gives uniform weights (float32 add, as float32 torch)',
    q: [1, 2, 3, 4],
    k: [1, 2, 3, 4],
    v: [1, 2, 3, 4],
    options: { mask: additiveMask([3, 3], [0, 0, 0, -1e9, -1e9, -1e9, 0, -1e9, 0]) },
    extra: (w) => [1, 4].forEach((row) => expectUniformRow(w, row, 3, 'a row of -1e9')),
  },
  {
    name: 'minus-1e9-causal-gqa',
    title: 'rows of -1e9 with causal and grouped-query: uniform over the visible keys',
    q: [1, 4, 4, 4],
    k: [1, 2, 4, 4],
    v: [1, 2, 4, 4],
    options: { causal: true, mask: additiveMask([1, 1, 4, 4], [-1e9, -1e9, -1e9, -1e9, 0, -1e9, 0, 0, -1e9, -1e9, -1e9, 0, -1e9, -1e9, -1e9, -1e9]) },
    extra: (w) => [0, 3, 4, 7, 8, 11, 12, 15].forEach((row) => expectUniformRow(w, row, (row % 4) + 1, 'a causal row of -1e9')),
  },
];

/** numeric core-op feature combinations and the float32 mask rule. */
export function coreOpFeatureCases(): ConformanceCase[] {
  return [
    ...coreOpCases('numeric', 'numeric/core-op-features', 'SPEC.md#core-op', FEATURE_CASES, 1200),
    ...coreOpCases('numeric', 'numeric/masks-in-float32', 'SPEC.md#masks-in-float32', MASKS_IN_FLOAT32_CASES, 1300),
  ];
}
