import * as tf from '@tensorflow/tfjs-core';
import type { AttentionLayout } from './options.js';
import { rowSoftmax } from './softmax.js';

/** Inputs of {@link attendHeads}; every tensor lives on the active backend. */
export interface HeadsInput {
  /** `[B, Hq, Tq, dk]`, already multiplied by the score scale. */
  readonly q: tf.Tensor4D;
  /** `[B, Hkv, Tk, dk]`; `Hkv` divides `Hq` (query head `h` reads KV head `floor(h / (Hq / Hkv))`). */
  readonly k: tf.Tensor4D;
  /** `[B, Hkv, Tk, dv]`. */
  readonly v: tf.Tensor4D;
  /** Additive bias broadcastable to `[B, Hq, Tq, Tk]` (rank 4, dims 1 or full); `-Infinity` masks out. */
  readonly bias?: tf.Tensor4D | undefined;
  /** `softcap * tanh(s / softcap)` on the scaled scores before the bias when > 0. */
  readonly softcap: number;
  /** A row may have every key masked: use the softmax that gives zeros there. */
  readonly mayHaveEmptyRows: boolean;
  readonly returnWeights: boolean;
  readonly layout: AttentionLayout;
}

/** What {@link attendHeads} computed; tensors are owned by the enclosing `tf.tidy`. */
export interface HeadsOutput {
  /** Shapes of the score, weight and context buffers actually used, as `[B, Hq, ...]`. */
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
 * Scores, softcap, bias, softmax and weights @ V for every head, in the requested layout.
 * Call inside `tf.tidy`.
 */
export function attendHeads(input: HeadsInput): HeadsOutput {
  return input.layout === 'per-head' ? perHead(input) : batched(input);
}

/**
 * One 2-D matmul pair per (batch, head). K is transposed once for all heads so every matmul is the plain
 * `[m, k] @ [k, n]` form that tfjs-wasm hands to XNNPACK; each head's scores are freed as soon as its
 * context is computed, so peak memory holds one `[Tq, Tk]` score matrix instead of all of them.
 */
function perHead(input: HeadsInput): HeadsOutput {
  const { q, k, v, bias, softcap, mayHaveEmptyRows, returnWeights } = input;
  const [B, Hq, Tq, dk] = q.shape;
  const [, Hkv, Tk] = k.shape;
  const dv = v.shape[3];
  const group = Hq / Hkv;
  const qs = tf.unstack(tf.reshape(q, [B * Hq, Tq, dk])) as tf.Tensor2D[];
  const kTs = tf.unstack(tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [B * Hkv, dk, Tk])) as tf.Tensor2D[];
  const vs = tf.unstack(tf.reshape(v, [B * Hkv, Tk, dv])) as tf.Tensor2D[];
  // A bias shared by every (batch, head) is reshaped once; otherwise each head slices its own block.
  const shared = bias !== undefined && bias.shape[0] === 1 && bias.shape[1] === 1 ? tf.reshape(bias, [bias.shape[2], bias.shape[3]]) : undefined;
  const biasFor = (b: number, h: number): tf.Tensor | undefined => {
    if (bias === undefined) return undefined;
    if (shared !== undefined) return shared;
    const [bb, bh, bq, bk] = bias.shape;
    return tf.reshape(tf.slice(bias, [bb === 1 ? 0 : b, bh === 1 ? 0 : h, 0, 0], [1, 1, bq, bk]), [bq, bk]);
  };
  let scoreShape: readonly number[] = [];
  let weightShape: readonly number[] = [];
  const contexts: tf.Tensor2D[] = [];
  const weights: tf.Tensor2D[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kv = b * Hkv + Math.floor(h / group);
      const [ctx, w] = tf.tidy(() => {
        const s = tf.matMul(qs[b * Hq + h]!, kTs[kv]!);
        const biased = biasFor(b, h);
        const scores = biased === undefined ? softcapped(s, softcap) : tf.add(softcapped(s, softcap), biased);
        const p = rowSoftmax(scores, mayHaveEmptyRows) as tf.Tensor2D;
        scoreShape = scores.shape;
        weightShape = p.shape;
        return [tf.matMul(p, vs[kv]!), returnWeights ? p : undefined] as const;
      });
      contexts.push(ctx);
      if (w !== undefined) weights.push(w);
    }
  }
  const context0 = contexts[0]!;
  return {
    scoresShape: [B, Hq, ...scoreShape],
    weightsShape: [B, Hq, ...weightShape],
    contextShape: [B, Hq, ...context0.shape],
    weights: returnWeights ? (tf.reshape(tf.stack(weights), [B, Hq, Tq, Tk]) as tf.Tensor4D) : undefined,
    merged: () => {
      const rows = [];
      for (let b = 0; b < B; b++) rows.push(tf.concat(contexts.slice(b * Hq, (b + 1) * Hq), 1));
      return (B === 1 ? rows[0]! : tf.concat(rows, 0)) as tf.Tensor2D;
    },
    context: () => tf.reshape(tf.stack(contexts), [B, Hq, Tq, dv]) as tf.Tensor4D,
  };
}

/** One batched matmul over all heads; grouped KV heads are gathered up to the query heads first. */
function batched(input: HeadsInput): HeadsOutput {
  const { q, bias, softcap, mayHaveEmptyRows, returnWeights } = input;
  const [B, Hq, Tq] = q.shape;
  const Hkv = input.k.shape[1];
  const dv = input.v.shape[3];
  const group = Hq / Hkv;
  const expand = <T extends tf.Tensor4D>(t: T): T =>
    group === 1 ? t : (tf.gather(t, tf.tensor1d(Array.from({ length: Hq }, (_, h) => Math.floor(h / group)), 'int32'), 1) as T);
  const k = expand(input.k);
  const v = expand(input.v);
  const s = tf.matMul(q, k, false, true);
  const scores = bias === undefined ? softcapped(s, softcap) : tf.add(softcapped(s, softcap), bias);
  const p = rowSoftmax(scores, mayHaveEmptyRows) as tf.Tensor4D;
  const ctx = tf.matMul(p, v) as tf.Tensor4D;
  return {
    scoresShape: scores.shape,
    weightsShape: p.shape,
    contextShape: ctx.shape,
    weights: returnWeights ? p : undefined,
    merged: () => tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B * Tq, Hq * dv]) as tf.Tensor2D,
    context: () => ctx,
  };
}
