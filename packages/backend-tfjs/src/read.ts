import * as tf from '@tensorflow/tfjs-core';

/**
 * Reads a float32 tensor back to a fresh `Float32Array`. `data()` (not `dataSync()`) so webgpu, which
 * cannot read synchronously, works too; the read goes to the backend that holds the tensor.
 */
export async function readFloat32(t: tf.Tensor): Promise<Float32Array> {
  const data = await t.data();
  if (!(data instanceof Float32Array)) throw new TypeError(`expected float32 data, got ${t.dtype}`);
  return data;
}
