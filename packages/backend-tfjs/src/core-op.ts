import type { AttentionMask, ValidAttention } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import { activate, assertActive } from './activate.js';
import { attendHeads } from './attention-heads.js';
import { causalBias } from './causal-bias.js';
import { exclusive } from './exclusive.js';
import type { ResolvedTfjsBackendOptions } from './options.js';
import { readFloat32 } from './read.js';

/**
 * A mask as an additive rank-4 tensor (leading dims padded with 1, broadcast by tfjs, never
 * materialised): additive masks as given, bool masks as 0 (attend) / -Infinity (masked). Any non-zero
 * bool entry attends, as in the reference.
 */
function maskBias(mask: AttentionMask): tf.Tensor4D {
  const shape = [...new Array<number>(4 - mask.shape.length).fill(1), ...mask.shape] as [number, number, number, number];
  if (mask.kind === 'additive') return tf.tensor4d(mask.data as Float32Array, shape);
  const additive = new Float32Array(mask.data.length);
  for (let i = 0; i < additive.length; i++) additive[i] = mask.data[i] ? 0 : -Infinity;
  return tf.tensor4d(additive, shape);
}

/** The mask and the causal rule folded into one additive bias, or undefined when neither applies. */
function combinedBias(a: ValidAttention): tf.Tensor4D | undefined {
  const causal = a.causal ? tf.reshape(causalBias(a.tq, a.tk), [1, 1, a.tq, a.tk]) : undefined;
  const mask = a.mask ? maskBias(a.mask) : undefined;
  if (causal && mask) return tf.add(mask, causal) as tf.Tensor4D;
  return (causal ?? mask) as tf.Tensor4D | undefined;
}

/**
 * The core op on tfjs: `q` is scaled once (`(s q) k^T = s (q k^T)`), then the shared per-head path
 * (softcap, bias, softmax, `@ v`). Only a mask can empty a row (a causal row keeps key 0), so only then
 * is the zero-safe softmax used.
 */
export function attentionOp(options: ResolvedTfjsBackendOptions): (a: ValidAttention) => Promise<{ output: Float32Array; weights?: Float32Array | undefined }> {
  return (a) =>
    exclusive(async () => {
      await activate(options);
      assertActive(options.tfBackend);
      const tensors = tf.tidy(() => {
        const q = tf.mul(tf.tensor4d(a.q, [a.batch, a.qHeads, a.tq, a.dk]), a.scale) as tf.Tensor4D;
        const k = tf.tensor4d(a.k, [a.batch, a.kvHeads, a.tk, a.dk]);
        const v = tf.tensor4d(a.v, [a.batch, a.kvHeads, a.tk, a.dv]);
        const heads = attendHeads(
          { q, k, v },
          { bias: combinedBias(a), softcap: a.softcap, mayHaveEmptyRows: a.mask !== undefined, returnWeights: a.returnWeights },
          options.attentionLayout,
          options.tfBackend,
        );
        const context = heads.context();
        return heads.weights === undefined ? [context] : [context, heads.weights];
      });
      try {
        const [output, weights] = await Promise.all(tensors.map(readFloat32));
        return { output: output!, weights };
      } finally {
        for (const t of tensors) t.dispose();
      }
    });
}
