import type { KvCache } from './kv-cache.js';
import type { Tensor } from './tensor.js';

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
 * Which score stage `returnWeights` returns (ONNX `qk_matmul_output_mode` 0-3):
 * - `'scores'` (0): `scale * q k^T`, every position (no softcap, no mask);
 * - `'softcapped'` (1): after the soft-cap, before any mask;
 * - `'masked'` (2): after the soft-cap, the mask, causal and padding (hidden positions are `-Infinity`);
 * - `'softmax'` (3, the default): the attention weights.
 */
export type WeightsStage = 'scores' | 'softcapped' | 'masked' | 'softmax';

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
  /** Also return the attention weights `[B, Hq, Tq, T]` (`T` = past + new keys), at `weightsStage`. */
  returnWeights?: boolean | undefined;
  /** The score stage `returnWeights` returns; default `'softmax'`. Needs `returnWeights`. */
  weightsStage?: WeightsStage | undefined;
  /**
   * Cached keys `[B, Hkv, P, dk]` (ONNX `past_key`), prepended to `k`; needs `pastValue`. The result then
   * carries `presentKey`/`presentValue` (`[B, Hkv, P + Tk, d]`), and causal is bottom-right aligned:
   * query `i` sees keys `j <= i + P`.
   */
  pastKey?: Tensor | undefined;
  /** Cached values `[B, Hkv, P, dv]` (ONNX `past_value`); needs `pastKey`. */
  pastValue?: Tensor | undefined;
  /**
   * Valid key count per batch row, length `B` (ONNX opset-24 `nonpad_kv_seqlen`, an external cache):
   * keys `j >= n[b]` are hidden, and causal uses the offset `n[b] - Tq`. Integers in `[0, Tk]`. Not with `pastKey`.
   */
  nonpadKvSeqlen?: readonly number[] | Int32Array | BigInt64Array | undefined;
  /**
   * A preallocated cache ({@link KvCache}, `createKvCache`): its `length` keys are the past (causal offset =
   * `length`), and core appends `k`/`v` to it during the call (rolled back if the kernel fails). Only the new
   * keys are validated. No `presentKey`/`presentValue` is returned: the cache holds them. Not with `pastKey`.
   */
  cache?: KvCache | undefined;
}
