import type { MhaWeights, ResolvedMhaConfig } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';

/** A module's weights on the host, packed for the forward pass. */
export interface PackedWeights {
  /** `[dIn, 3 * dOut]`: columns `[Wq * scale | Wk | Wv]`, so one 2-D matmul projects q, k and v. */
  readonly wqkv: Float32Array;
  /** `[3 * dOut]`: `[bq * scale | bk | bv]`, when the config has q/k/v biases. */
  readonly bqkv: Float32Array | undefined;
  readonly wo: Float32Array | undefined;
  readonly bo: Float32Array | undefined;
}

/**
 * Packs the canonical weights (`[in, out]` layout) into one fused q/k/v matrix. The score scale is
 * folded into the query columns (`(x Wq s) k^T = s (x Wq) k^T`), which costs nothing per forward and
 * only adds one float32 rounding to each query weight.
 */
export function packWeights(config: ResolvedMhaConfig, w: Readonly<MhaWeights>): PackedWeights {
  const { dIn, dOut, scale } = config;
  const wqkv = new Float32Array(dIn * 3 * dOut);
  for (let i = 0; i < dIn; i++) {
    const row = i * 3 * dOut;
    for (let o = 0; o < dOut; o++) wqkv[row + o] = w.wq[i * dOut + o]! * scale;
    wqkv.set(w.wk.subarray(i * dOut, (i + 1) * dOut), row + dOut);
    wqkv.set(w.wv.subarray(i * dOut, (i + 1) * dOut), row + 2 * dOut);
  }
  let bqkv: Float32Array | undefined;
  if (w.bq && w.bk && w.bv) {
    bqkv = new Float32Array(3 * dOut);
    for (let o = 0; o < dOut; o++) bqkv[o] = w.bq[o]! * scale;
    bqkv.set(w.bk, dOut);
    bqkv.set(w.bv, 2 * dOut);
  }
  return { wqkv, bqkv, wo: w.wo, bo: w.bo };
}

/** The packed weights as tensors on one tfjs backend, uploaded once per module. */
export interface WeightTensors {
  readonly wqkv: tf.Tensor2D;
  readonly bqkv: tf.Tensor1D | undefined;
  readonly wo: tf.Tensor2D | undefined;
  readonly bo: tf.Tensor1D | undefined;
}

/** Uploads packed weights to the active backend. The caller owns (and must dispose) the tensors. */
export function uploadWeights(config: ResolvedMhaConfig, p: PackedWeights): WeightTensors {
  const { dIn, dOut } = config;
  return {
    wqkv: tf.tensor2d(p.wqkv, [dIn, 3 * dOut]),
    bqkv: p.bqkv && tf.tensor1d(p.bqkv),
    wo: p.wo && tf.tensor2d(p.wo, [dOut, dOut]),
    bo: p.bo && tf.tensor1d(p.bo),
  };
}

/** Every tensor of `w`, for counting and disposal. */
export function weightTensorList(w: WeightTensors): tf.Tensor[] {
  const all: (tf.Tensor | undefined)[] = [w.wqkv, w.bqkv, w.wo, w.bo];
  return all.filter((t): t is tf.Tensor => t !== undefined);
}
