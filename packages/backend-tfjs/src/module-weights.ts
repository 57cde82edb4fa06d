import type { MhaWeights, ResolvedMhaConfig } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionLayout } from './options.js';

/**
 * A module's weights as tensors on its tfjs backend, uploaded once per module, in the form its layout
 * multiplies by. The score scale is folded into the query weights and bias (`(x Wq s) k^T = s (x Wq) k^T`):
 * free per forward, and only one extra float32 rounding per query weight.
 *
 * - `fused` (batched layout): `wqkv [dIn, 3*dOut] = [Wq*s | Wk | Wv]`, so one 2-D matmul projects q, k, v.
 * - `per-head` (per-head layout): `wq[h], wk[h], wv[h]: [dIn, dh]`, so each head's q, k, v come out of
 *   their own 2-D matmul already split (`[B*T, dIn] @ [dIn, dh]`), with no head-splitting copy after.
 */
export type WeightTensors =
  | {
      readonly kind: 'fused';
      readonly wqkv: tf.Tensor2D;
      readonly bqkv: tf.Tensor1D | undefined;
      readonly wo: tf.Tensor2D | undefined;
      readonly bo: tf.Tensor1D | undefined;
    }
  | {
      readonly kind: 'per-head';
      readonly wq: readonly tf.Tensor2D[];
      readonly wk: readonly tf.Tensor2D[];
      readonly wv: readonly tf.Tensor2D[];
      readonly bq: readonly tf.Tensor1D[] | undefined;
      readonly bk: readonly tf.Tensor1D[] | undefined;
      readonly bv: readonly tf.Tensor1D[] | undefined;
      readonly wo: tf.Tensor2D | undefined;
      readonly bo: tf.Tensor1D | undefined;
    };

function scaled(a: Float32Array, s: number): Float32Array {
  return a.map((v) => v * s);
}

/** Columns `c0 .. c0+n-1` of a row-major `[rows, cols]` matrix, as a new `[rows, n]` matrix. */
export function columns(a: Float32Array, rows: number, cols: number, c0: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * cols + c0, r * cols + c0 + n), r * n);
  return out;
}

/**
 * Packs the canonical weights (`[in, out]` layout) for `layout` and uploads them to the active backend.
 * The caller owns the tensors; if an upload fails halfway (e.g. out of memory), the ones already made are freed.
 */
export function uploadWeights(config: ResolvedMhaConfig, w: Readonly<MhaWeights>, layout: AttentionLayout): WeightTensors {
  const made: tf.Tensor[] = [];
  const matrix = (data: Float32Array, rows: number, cols: number): tf.Tensor2D => {
    const t = tf.tensor2d(data, [rows, cols]);
    made.push(t);
    return t;
  };
  const vector = (data: Float32Array): tf.Tensor1D => {
    const t = tf.tensor1d(data);
    made.push(t);
    return t;
  };
  try {
    const { dIn, dOut, heads: H, headDim: dh, scale } = config;
    const wq = scaled(w.wq, scale);
    const bq = w.bq && scaled(w.bq, scale);
    const wo = w.wo && matrix(w.wo, dOut, dOut);
    const bo = w.bo && vector(w.bo);
    if (layout === 'batched') {
      const wqkv = new Float32Array(dIn * 3 * dOut);
      for (let i = 0; i < dIn; i++) {
        wqkv.set(wq.subarray(i * dOut, (i + 1) * dOut), i * 3 * dOut);
        wqkv.set(w.wk.subarray(i * dOut, (i + 1) * dOut), i * 3 * dOut + dOut);
        wqkv.set(w.wv.subarray(i * dOut, (i + 1) * dOut), i * 3 * dOut + 2 * dOut);
      }
      let bqkv: tf.Tensor1D | undefined;
      if (bq && w.bk && w.bv) {
        const b = new Float32Array(3 * dOut);
        b.set(bq, 0);
        b.set(w.bk, dOut);
        b.set(w.bv, 2 * dOut);
        bqkv = vector(b);
      }
      return { kind: 'fused', wqkv: matrix(wqkv, dIn, 3 * dOut), bqkv, wo, bo };
    }
    const perHead = (m: Float32Array) => Array.from({ length: H }, (_, h) => matrix(columns(m, dIn, dOut, h * dh, dh), dIn, dh));
    const perHeadBias = (b: Float32Array | undefined) => b && Array.from({ length: H }, (_, h) => vector(b.slice(h * dh, (h + 1) * dh)));
    return { kind: 'per-head', wq: perHead(wq), wk: perHead(w.wk), wv: perHead(w.wv), bq: perHeadBias(bq), bk: perHeadBias(w.bk), bv: perHeadBias(w.bv), wo, bo };
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}

/** Every tensor of `w`, for disposal. */
export function weightTensorList(w: WeightTensors): tf.Tensor[] {
  const all: (tf.Tensor | undefined)[] =
    w.kind === 'fused' ? [w.wqkv, w.bqkv, w.wo, w.bo] : [...w.wq, ...w.wk, ...w.wv, ...(w.bq ?? []), ...(w.bk ?? []), ...(w.bv ?? []), w.wo, w.bo];
  return all.filter((t): t is tf.Tensor => t !== undefined);
}
