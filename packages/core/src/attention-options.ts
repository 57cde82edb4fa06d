/**
 * An attention mask for the core op, broadcast (right-aligned, numpy rules) to `[B, Hq, Tq, Tk]`.
 * Rank 2 (`[Tq, Tk]`) to 4. Semantics follow ONNX `Attention` and PyTorch SDPA:
 * - `bool`: `1` = this query may attend this key, `0` = masked out;
 * - `additive`: added to the scaled (and soft-capped) scores; `-Infinity` masks out.
 */
export interface AttentionMask {
  readonly kind: 'bool' | 'additive';
  readonly data: Uint8Array | Float32Array;
  readonly shape: readonly number[];
}

/**
 * Options of the core attention op (`q [B,Hq,Tq,dk]`, `k [B,Hkv,Tk,dk]`, `v [B,Hkv,Tk,dv]`).
 *
 * Order of operations (ONNX `Attention`, opset 23):
 * `scores = scale * q k^T` -> soft-cap -> + mask / causal -> softmax (max-subtracted) -> `@ v`.
 * A query row whose keys are all masked produces zeros (weights and output), never NaN.
 */
export interface AttentionOptions {
  /** Query `i` attends keys `j <= i` (top-left aligned when `Tq != Tk`, as ONNX without a cache and torch SDPA). */
  causal?: boolean | undefined;
  /** Score scale; default (`undefined`/`null`) `1/sqrt(dk)`. */
  scale?: number | null | undefined;
  /** Optional mask; needs the `attn-mask` capability. */
  mask?: AttentionMask | undefined;
  /** `softcap * tanh(scores / softcap)` before masking when > 0; needs the `softcap` capability. */
  softcap?: number | undefined;
  /** Also return the attention weights `[B, Hq, Tq, Tk]`. */
  returnWeights?: boolean | undefined;
}
