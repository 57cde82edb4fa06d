import * as tf from '@tensorflow/tfjs-core';

/** Largest finite float32 magnitude. */
const FLOAT32_MAX = 3.4028234663852886e38;
/** Smallest positive normal float32. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;
/**
 * tfjs-webgl's max reduction (and its softmax kernel, built on it) starts from `-1.0 / 1e-20`, i.e.
 * -1e20 (tfjs 4.22 `reduce_gpu.js`: a workaround for GLSL compilers that reject `-1.0 / 0.0`), so it
 * returns `max(true max, -1e20)`. A row whose values all lie below -1e20 (an additive mask of float32
 * lowest, -3.4028234663852886e38) gets -1e20 as its max, and `exp(score - max)` underflows to 0 on every
 * key: zeros instead of uniform weights. Scaled by 2^-70 first, every finite float32 lies above -2.9e17,
 * so the clamp can only show in a row that is all `-Infinity`, which gets `-Infinity`. The products are
 * exact for |x| >= 2^-56; smaller values move the max by under 2^-56, which a max-subtracted softmax
 * does not see.
 */
const WEBGL_MAX_SCALE = 2 ** -70;
/** Below every finite float32 times {@link WEBGL_MAX_SCALE}, above tfjs-webgl's -1e20 start value. */
const WEBGL_ALL_INFINITE = -1e19;

/** The max over the last axis (dims kept), also on tfjs-webgl for values below -1e20. */
function rowMax(x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'webgl') return tf.max(x, -1, true);
  const scaled = tf.max(tf.mul(x, WEBGL_MAX_SCALE), -1, true);
  return tf.where(tf.less(scaled, WEBGL_ALL_INFINITE), tf.fill(scaled.shape, -Infinity), tf.mul(scaled, 1 / WEBGL_MAX_SCALE));
}

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
  const biasMax = rowMax(bias);
  // -FLOAT32_MAX in rows the bias empties, -Infinity (no effect on the max) elsewhere.
  const floor = tf.where(tf.equal(biasMax, -Infinity), tf.fill(biasMax.shape, -FLOAT32_MAX), tf.fill(biasMax.shape, -Infinity));
  const e = tf.exp(tf.sub(scores, tf.maximum(rowMax(scores), floor)));
  return tf.div(e, tf.maximum(tf.sum(e, -1, true), FLOAT32_MIN_NORMAL));
}

/** Plain max-subtracted softmax over the last axis with {@link rowMax} (for tfjs-webgl, whose own kernel clamps the max). */
function maxSubtractedSoftmax(scores: tf.Tensor): tf.Tensor {
  const e = tf.exp(tf.sub(scores, rowMax(scores)));
  return tf.div(e, tf.sum(e, -1, true));
}

/**
 * Softmax over the last axis. `emptyingBias` must be given (the additive bias added to `scores`) when
 * it can empty a row (every key `-Infinity`); otherwise tfjs's own kernel (max-subtracted on every
 * backend, and one fused kernel on wasm) is used, which would give NaN for such a row. On tfjs-webgl
 * that kernel's max is clamped at -1e20 (see WEBGL_MAX_SCALE), so the ops above are used there.
 */
export function rowSoftmax(scores: tf.Tensor, emptyingBias: tf.Tensor | undefined): tf.Tensor {
  if (emptyingBias !== undefined) return softmaxAllowingEmptyRows(scores, emptyingBias);
  return tf.getBackend() === 'webgl' ? maxSubtractedSoftmax(scores) : tf.softmax(scores);
}
