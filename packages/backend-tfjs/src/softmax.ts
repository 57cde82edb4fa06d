import * as tf from '@tensorflow/tfjs-core';

/** Largest finite float32 magnitude. */
const FLOAT32_MAX = 3.4028234663852886e38;
/** Smallest positive normal float32. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Softmax over the last axis that gives zeros, instead of NaN, for a row that the additive `bias`
 * empties (every key `-Infinity`), as the spec requires. Still max-subtracted: the row max is raised to
 * `-FLOAT32_MAX` only in rows whose bias is all `-Infinity`, so `exp(-Infinity - m) = 0` everywhere in
 * such a row and the clamped divisor `max(sum, FLOAT32_MIN)` turns `0 / 0` into `0`. A row the bias
 * leaves open keeps its true max, so if every score of it overflowed float32 to `-Infinity` it gives
 * NaN (reported by core as MHA_OVERFLOW), never zeros that look like an answer. Any other row has
 * `sum >= 1` (its max contributes `exp(0)`), so it is divided by its true sum.
 */
export function softmaxAllowingEmptyRows(scores: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const biasMax = tf.max(bias, -1, true);
  // -FLOAT32_MAX in rows the bias empties, -Infinity (no effect on the max) elsewhere.
  const floor = tf.where(tf.equal(biasMax, -Infinity), tf.fill(biasMax.shape, -FLOAT32_MAX), tf.fill(biasMax.shape, -Infinity));
  const rowMax = tf.maximum(tf.max(scores, -1, true), floor);
  const e = tf.exp(tf.sub(scores, rowMax));
  return tf.div(e, tf.maximum(tf.sum(e, -1, true), FLOAT32_MIN_NORMAL));
}

/**
 * Softmax over the last axis. `emptyingBias` must be given (the additive bias added to `scores`) when
 * it can empty a row (every key `-Infinity`); otherwise tfjs's own kernel (max-subtracted on every
 * backend, and one fused kernel on wasm) is used, which would give NaN for such a row.
 */
export function rowSoftmax(scores: tf.Tensor, emptyingBias: tf.Tensor | undefined): tf.Tensor {
  return emptyingBias !== undefined ? softmaxAllowingEmptyRows(scores, emptyingBias) : tf.softmax(scores);
}
