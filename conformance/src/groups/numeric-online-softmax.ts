import { formatShape, randomTensor, seededRandom, type AttentionMask, type AttentionOptions, type Tensor } from '@mha/core';
import type { ConformanceCase } from '../case.js';
import { coreOpEveryPath } from './both-paths.js';
import { coreOpNeeds, FLOAT32_LOWEST } from './core-op-features.js';

const SPEC = 'SPEC.md#numeric-tolerance';

/**
 * Core-op cases aimed at kernels that sweep the keys in blocks with an online softmax (flash attention:
 * running max and sum per query row, the accumulator rescaled when the max grows). Tk is 300, past
 * blocks of 32, 64 or 128 keys, and the inputs put the row max, the masked keys and the empty rows where
 * such a kernel's edge cases are: a max that grows in every block (logits up to 1e4), rows whose first
 * blocks are all masked (left padding: the running max is -Infinity for a while), rows of float32 lowest
 * after masked blocks (a number that is added: uniform weights), a jump of the max by 3.4e38, fully
 * masked rows (zeros). Both code paths against the float64 reference.
 */
interface OnlineSoftmaxCase {
  readonly name: string;
  readonly title: string;
  readonly inputs: (seed: number) => { q: Tensor; k: Tensor; v: Tensor };
  readonly options: AttentionOptions;
}

const TK = 300;
const LOWEST = FLOAT32_LOWEST;

const filled = (shape: number[], value: (i: number) => number): Tensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(i)) });
const random = (q: number[], k: number[], v: number[], scale = 1) => (seed: number) => ({ q: randomTensor(q, seed, scale), k: randomTensor(k, seed + 1, scale), v: randomTensor(v, seed + 2) });

/**
 * Head size 4, q = 2e4 and every component of key j = j / 1024 (all exact in float32): with the default
 * scale 1/2, score j = 39.0625 j exactly, a new row max at every key (up to 1.2e4).
 */
const growing = (tq: number) => (seed: number) => ({ q: filled([1, 2, tq, 4], () => 2e4), k: filled([1, 2, TK, 4], (i) => (Math.floor(i / 4) % TK) / 1024), v: randomTensor([1, 2, TK, 4], seed) });

/** Additive mask rows over TK keys (row-major `[rows, TK]`). */
function additiveRows(rows: readonly ((j: number) => number)[]): AttentionMask {
  return { kind: 'additive', shape: [rows.length, TK], data: Float32Array.from({ length: rows.length * TK }, (_, i) => rows[Math.floor(i / TK)]!(i % TK)) };
}

export const ONLINE_SOFTMAX_CASES: readonly OnlineSoftmaxCase[] = [
  {
    name: 'max-grows-every-key',
    title: `Tk = ${TK}: the row max grows at every key (scores 0 .. 1.2e4), so every earlier block must be rescaled to ~0`,
    inputs: growing(7),
    options: {},
  },
  {
    name: 'max-grows-every-key-causal',
    title: `T = ${TK}, causal: each row's max grows up to its last visible key`,
    inputs: growing(TK),
    options: { causal: true },
  },
  {
    name: 'max-grows-by-block',
    title: `Tk = ${TK}, random scores plus 4 per block of 32 keys: each block holds a new row max and a visible share of the weight`,
    inputs: (seed) => {
      const r = random([1, 2, 5, 8], [1, 2, TK, 8], [1, 2, TK, 8])(seed);
      // q . k grows with the key block through the last component (q's is 1, k's is 4 * block).
      for (let i = 0; i < r.q.data.length; i += 8) r.q.data[i + 7] = 1;
      for (let i = 0; i < r.k.data.length; i += 8) r.k.data[i + 7] = 4 * Math.floor((i / 8) % TK / 32) * Math.sqrt(8);
      return r;
    },
    options: {},
  },
  {
    name: 'left-padding-bool',
    title: `bool key-padding mask [B, 1, 1, ${TK}]: batch 0 attends keys >= 200 only, batch 1 only its last key (the first blocks of every row are all masked)`,
    inputs: random([2, 2, 5, 8], [2, 2, TK, 8], [2, 2, TK, 8], 3),
    options: { mask: { kind: 'bool', shape: [2, 1, 1, TK], data: Uint8Array.from({ length: 2 * TK }, (_, i) => (i < TK ? (i >= 200 ? 1 : 0) : i === 2 * TK - 1 ? 1 : 0)) } },
  },
  {
    name: 'additive-masked-blocks',
    title: `additive mask [4, ${TK}]: a row of -Infinity (zeros), -Infinity then float32 lowest (uniform over the rest), lowest then 0 (the max jumps by 3.4e38), -Infinity holes`,
    inputs: random([1, 2, 4, 8], [1, 2, TK, 8], [1, 2, TK, 8], 3),
    options: {
      mask: additiveRows([
        () => -Infinity,
        (j) => (j < 200 ? -Infinity : LOWEST),
        (j) => (j < 150 ? LOWEST : 0),
        (j) => (j % 3 === 0 || j < 100 ? -Infinity : (j % 5) - 2),
      ]),
    },
  },
  {
    name: 'random-mask-large-logits-softcap',
    title: `Tk = ${TK}, causal, a random bool mask [Tq, Tk] with fully masked rows, soft-cap 20 on inputs of 10`,
    inputs: random([1, 2, TK, 8], [1, 2, TK, 8], [1, 2, TK, 8], 10),
    options: {
      causal: true,
      softcap: 20,
      mask: (() => {
        const rand = seededRandom(77);
        // Rows 0 mod 7 are empty; others keep about 1 key in 20, so many blocks of a row are all masked.
        return { kind: 'bool', shape: [TK, TK], data: Uint8Array.from({ length: TK * TK }, (_, i) => (Math.floor(i / TK) % 7 !== 0 && rand() < 0.05 ? 1 : 0)) } as AttentionMask;
      })(),
    },
  },
];

/** numeric: {@link ONLINE_SOFTMAX_CASES}, each with and without weights against the float64 reference. */
export function onlineSoftmaxCases(): ConformanceCase[] {
  return ONLINE_SOFTMAX_CASES.map((c, i) => {
    const seed = 1700 + 3 * i;
    const shapes = c.inputs(seed);
    return {
      id: `numeric/online-softmax/${c.name}/q=${formatShape(shapes.q.shape)},k=${formatShape(shapes.k.shape)},v=${formatShape(shapes.v.shape)},seed=${seed}`,
      group: 'numeric' as const,
      spec: SPEC,
      title: c.title,
      needs: coreOpNeeds(shapes.q.shape, shapes.k.shape, shapes.v.shape, c.options),
      async run(ctx) {
        const { q, k, v } = c.inputs(seed);
        await coreOpEveryPath(ctx, q, k, v, c.options);
      },
    };
  });
}
