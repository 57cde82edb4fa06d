import * as tf from '@tensorflow/tfjs-core';
import type { AttentionLayout, TfjsBackendName } from './options.js';
import { rowSoftmax } from './softmax.js';

/**
 * Whether the per-head path should hold K transposed (`[dk, Tk]` per head). tfjs-wasm runs only the plain
 * `[m, k] @ [k, n]` matmul on XNNPACK's fast path (its transposed-operand and batched matmuls are about
 * 10x slower), so it gets K^T materialised once; tfjs-cpu reads a transposed operand for free, so it
 * skips the copy.
 */
export function prefersTransposedKeys(tfBackend: TfjsBackendName): boolean {
  return tfBackend === 'wasm';
}

/** How scores are masked and normalised; shared by both layouts. */
export interface ScoreOptions {
  /** Additive bias broadcastable to `[B, Hq, Tq, Tk]` (rank 4, each dim 1 or full); `-Infinity` masks out. */
  readonly bias?: tf.Tensor4D | undefined;
  /** `softcap * tanh(s / softcap)` on the scaled scores, before the bias, when > 0. */
  readonly softcap: number;
  /** The bias may mask every key of a row: use the softmax that gives zeros there (needs `bias`). */
  readonly mayHaveEmptyRows: boolean;
  readonly returnWeights: boolean;
}

/** Per-(batch, head) operands of the per-head path, batch-major (index `b * heads + h`). */
export interface HeadPieces {
  readonly batch: number;
  readonly qHeads: number;
  readonly kvHeads: number;
  /** `B * Hq` pieces `[Tq, dk]`, already multiplied by the score scale. */
  readonly q: readonly tf.Tensor2D[];
  /** `B * Hkv` pieces `[Tk, dk]`, or `[dk, Tk]` when `kTransposed`. */
  readonly k: readonly tf.Tensor2D[];
  readonly kTransposed: boolean;
  /** `B * Hkv` pieces `[Tk, dv]`. */
  readonly v: readonly tf.Tensor2D[];
}

/** What the attention step computed; tensors are owned by the enclosing `tf.tidy`. */
export interface HeadsOutput {
  /** Shapes of the buffers actually used; per-head pieces are reported as `[B, Hq, ...piece]`. */
  readonly scoresShape: readonly number[];
  readonly weightsShape: readonly number[];
  readonly contextShape: readonly number[];
  /** `[B, Hq, Tq, Tk]` when `returnWeights`. */
  readonly weights: tf.Tensor4D | undefined;
  /** Heads concatenated per query: `[B * Tq, Hq * dv]` (head 0 first), the module's merge. */
  merged(): tf.Tensor2D;
  /** `[B, Hq, Tq, dv]`, the core op's output. */
  context(): tf.Tensor4D;
}

function softcapped(s: tf.Tensor, softcap: number): tf.Tensor {
  return softcap > 0 ? tf.mul(tf.tanh(tf.div(s, softcap)), softcap) : s;
}

/**
 * One 2-D matmul pair per (batch, head); query head `h` reads KV head `floor(h / (Hq / Hkv))`. Each
 * head's scores are freed as soon as its context is computed, so peak memory holds one `[Tq, Tk]` score
 * matrix (plus the weights when they are returned) instead of all of them. Call inside `tf.tidy`.
 */
export function attendPerHead(p: HeadPieces, o: ScoreOptions): HeadsOutput {
  const { batch: B, qHeads: Hq, kvHeads: Hkv, kTransposed } = p;
  const group = Hq / Hkv;
  const { bias } = o;
  // A bias shared by every (batch, head) is reshaped once; otherwise each head slices its own block.
  const shared = bias !== undefined && bias.shape[0] === 1 && bias.shape[1] === 1 ? tf.reshape(bias, [bias.shape[2], bias.shape[3]]) : undefined;
  const biasFor = (b: number, h: number): tf.Tensor | undefined => {
    if (bias === undefined || shared !== undefined) return shared;
    const [bb, bh, bq, bk] = bias.shape;
    return tf.reshape(tf.slice(bias, [bb === 1 ? 0 : b, bh === 1 ? 0 : h, 0, 0], [1, 1, bq, bk]), [bq, bk]);
  };
  let scoresShape: readonly number[] = [];
  let weightsShape: readonly number[] = [];
  const contexts: tf.Tensor2D[] = [];
  const weights: tf.Tensor2D[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kv = b * Hkv + Math.floor(h / group);
      const [ctx, w] = tf.tidy(() => {
        const s = tf.matMul(p.q[b * Hq + h]!, p.k[kv]!, false, !kTransposed);
        const biased = biasFor(b, h);
        const scores = biased === undefined ? softcapped(s, o.softcap) : tf.add(softcapped(s, o.softcap), biased);
        const probs = rowSoftmax(scores, o.mayHaveEmptyRows ? biased : undefined) as tf.Tensor2D;
        scoresShape = scores.shape;
        weightsShape = probs.shape;
        return o.returnWeights ? [tf.matMul(probs, p.v[kv]!), probs] : [tf.matMul(probs, p.v[kv]!)];
      });
      contexts.push(ctx!);
      if (w !== undefined) weights.push(w);
    }
  }
  const [Tq, dv] = contexts[0]!.shape;
  return {
    scoresShape: [B, Hq, ...scoresShape],
    weightsShape: [B, Hq, ...weightsShape],
    contextShape: [B, Hq, Tq, dv],
    weights: o.returnWeights ? (tf.reshape(tf.stack(weights), [B, Hq, weightsShape[0]!, weightsShape[1]!]) as tf.Tensor4D) : undefined,
    merged: () => {
      const rows = [];
      for (let b = 0; b < B; b++) rows.push(tf.concat(contexts.slice(b * Hq, (b + 1) * Hq), 1));
      return (B === 1 ? rows[0]! : tf.concat(rows, 0)) as tf.Tensor2D;
    },
    context: () => tf.reshape(tf.stack(contexts), [B, Hq, Tq, dv]) as tf.Tensor4D,
  };
}

/** Splits `[B, H, T, d]` into `B * H` pieces `[T, d]` (batch-major), optionally transposed to `[d, T]`. */
export function splitHeads(t: tf.Tensor4D, transpose = false): tf.Tensor2D[] {
  const [B, H, T, d] = t.shape;
  const src = transpose ? tf.reshape(tf.transpose(t, [0, 1, 3, 2]), [B * H, d, T]) : tf.reshape(t, [B * H, T, d]);
  return tf.unstack(src) as tf.Tensor2D[];
}

/** The 4-D operands of the core op (or of the batched module path). */
export interface HeadTensors {
  /** `[B, Hq, Tq, dk]`, already multiplied by the score scale. */
  readonly q: tf.Tensor4D;
  /** `[B, Hkv, Tk, dk]`; `Hkv` divides `Hq`. */
  readonly k: tf.Tensor4D;
  /** `[B, Hkv, Tk, dv]`. */
  readonly v: tf.Tensor4D;
}

/**
 * The attention step on 4-D operands in the requested layout: `per-head` splits them into pieces for
 * {@link attendPerHead}; `batched` issues one batched matmul pair over all heads (grouped KV heads
 * gathered up to the query heads first). Call inside `tf.tidy`.
 */
export function attendHeads(t: HeadTensors, o: ScoreOptions, layout: AttentionLayout, tfBackend: TfjsBackendName): HeadsOutput {
  const [B, Hq] = t.q.shape;
  const Hkv = t.k.shape[1];
  if (layout === 'per-head') {
    const kTransposed = prefersTransposedKeys(tfBackend);
    return attendPerHead({ batch: B, qHeads: Hq, kvHeads: Hkv, q: splitHeads(t.q), k: splitHeads(t.k, kTransposed), kTransposed, v: splitHeads(t.v) }, o);
  }
  const Tq = t.q.shape[2];
  const dv = t.v.shape[3];
  const group = Hq / Hkv;
  const expand = (x: tf.Tensor4D): tf.Tensor4D =>
    group === 1 ? x : (tf.gather(x, tf.tensor1d(Array.from({ length: Hq }, (_, h) => Math.floor(h / group)), 'int32'), 1) as tf.Tensor4D);
  const s = tf.matMul(t.q, expand(t.k), false, true);
  const scores = o.bias === undefined ? softcapped(s, o.softcap) : tf.add(softcapped(s, o.softcap), o.bias);
  const probs = rowSoftmax(scores, o.mayHaveEmptyRows ? o.bias : undefined) as tf.Tensor4D;
  const ctx = tf.matMul(probs, expand(t.v)) as tf.Tensor4D;
  return {
    scoresShape: scores.shape,
    weightsShape: probs.shape,
    contextShape: ctx.shape,
    weights: o.returnWeights ? probs : undefined,
    merged: () => tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B * Tq, Hq * dv]) as tf.Tensor2D,
    context: () => ctx,
  };
}
