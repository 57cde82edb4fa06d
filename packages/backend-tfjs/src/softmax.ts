import * as tf from '@tensorflow/tfjs-core';

/** Largest finite float32 magnitude. */
const FLOAT32_MAX = 3.4028234663852886e38;
/** Smallest positive normal float32. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Softmax over the last axis that turns a row whose every score is `-Infinity` (every key masked) into
 * zeros instead of NaN, as the spec requires. Still max-subtracted: the row max is clamped to
 * `-FLOAT32_MAX` only when it is `-Infinity`, so `exp(-Infinity - m) = 0` everywhere in that row and the
 * clamped divisor `max(sum, FLOAT32_MIN)` turns `0 / 0` into `0`. Any other row has `sum >= 1` (its max
 * contributes `exp(0)`), so it is divided by its true sum.
 */
export function softmaxAllowingEmptyRows(scores: tf.Tensor): tf.Tensor {
  const rowMax = tf.maximum(tf.max(scores, -1, true), -FLOAT32_MAX);
  const e = tf.exp(tf.sub(scores, rowMax));
  return tf.div(e, tf.maximum(tf.sum(e, -1, true), FLOAT32_MIN_NORMAL));
}

/**
 * Softmax over the last axis. `mayHaveEmptyRows` must be true when a row can have every key masked
 * (`-Infinity`); otherwise tfjs's own kernel (max-subtracted on every backend, and one fused kernel on
 * wasm) is used, which would give NaN for such a row.
 */
export function rowSoftmax(scores: tf.Tensor, mayHaveEmptyRows: boolean): tf.Tensor {
  return mayHaveEmptyRows ? softmaxAllowingEmptyRows(scores) : tf.softmax(scores);
}
