import * as tf from '@tensorflow/tfjs-core';

/**
 * The additive causal bias `[tq, tk]`: 0 where key `j <= i` (query `i` may see it, top-left aligned when
 * `tq != tk`), `-Infinity` above. Built with tfjs ops on the active backend, so no `tq * tk` host loop
 * or upload. Every row keeps key 0, so a causal row is never fully masked.
 */
export function causalBias(tq: number, tk: number): tf.Tensor2D {
  return tf.tidy(() => {
    const query = tf.reshape(tf.range(0, tq, 1, 'int32'), [tq, 1]);
    const key = tf.reshape(tf.range(0, tk, 1, 'int32'), [1, tk]);
    return tf.where(tf.lessEqual(key, query), tf.zeros([tq, tk]), tf.fill([tq, tk], -Infinity)) as tf.Tensor2D;
  });
}

/**
 * A module's causal biases, one per sequence length `T`, built on first use and kept (most recently
 * used first) up to `capacity` lengths, so a model called with a few recurring lengths never rebuilds
 * them while a sweep over many lengths cannot grow memory without bound.
 */
export class CausalBiasCache {
  private readonly byLength = new Map<number, tf.Tensor2D>();

  constructor(private readonly capacity = 4) {}

  /** The `[t, t]` bias; call with the module's tfjs backend active. The cache owns the tensor. */
  get(t: number): tf.Tensor2D {
    let bias = this.byLength.get(t);
    if (bias === undefined) {
      bias = tf.keep(causalBias(t, t));
      if (this.byLength.size >= this.capacity) {
        const [oldest, old] = this.byLength.entries().next().value as [number, tf.Tensor2D];
        this.byLength.delete(oldest);
        old.dispose();
      }
    } else {
      this.byLength.delete(t);
    }
    this.byLength.set(t, bias);
    return bias;
  }

  /** Number of cached lengths. */
  get size(): number {
    return this.byLength.size;
  }

  /** Frees every cached tensor. */
  dispose(): void {
    for (const bias of this.byLength.values()) bias.dispose();
    this.byLength.clear();
  }
}
