// The attention export: one argument list for both kernels, so the JavaScript side and the workers call
// one function. Up to SMALL_QUERY_ROWS query rows per head (decode steps), unpacked dot products
// (attention-small-f32x4.ts); else without weights, online softmax over key blocks
// (attention-flash-f32x4.ts); with weights, the two-pass kernel (attention-tiled-f32x4.ts), whose exact
// softmax row is the weights row.
import { attentionFlash, flashScratchBytes } from './attention-flash-f32x4';
import { attentionTiled, tiledScratchBytes } from './attention-tiled-f32x4';
import { attentionSmall, smallScratchBytes, SMALL_QUERY_ROWS } from './attention-small-f32x4';

/**
 * Up to this many keys the two-pass kernel runs even without weights: measured (CPU time, interleaved)
 * it is 4-10% faster at Tk 8-16, where a single short block leaves the online softmax only its fixed
 * costs; from Tk 32 on the online softmax is faster. Its [4, Tk] score row is tiny here.
 */
const TWO_PASS_MAX_TK: i32 = 16;

@inline
function twoPass(tk: i32, withWeights: bool): bool {
  return withWeights || tk <= TWO_PASS_MAX_TK;
}

/** Bytes of work memory {@link attention} needs for `tq` query rows per head, with (`withWeights` 1) or without (0) weights. */
export function attentionScratchBytes(tk: i32, dk: i32, dv: i32, withWeights: i32, tq: i32): i32 {
  if (tq <= SMALL_QUERY_ROWS) return smallScratchBytes(tk);
  return twoPass(tk, withWeights != 0) ? tiledScratchBytes(tk, dk, dv) : flashScratchBytes(tk, dk, dv);
}

/**
 * `out = softmax(scale * q k^T [softcap] [+ mask] [causal]) @ v` for every (batch, query head).
 * Operands are strided head views (strides in floats): row `i` of head `h` in batch `b` starts at
 * `base + b*batchStride + h*headStride + i*rowStride`, so the module's fused q|k|v buffer and the core
 * op's `[B, H, T, d]` tensors both work without copies. Query head `h` reads KV head `h / (Hq / Hkv)`.
 * `mask` strides are those of core's `maskStrides` (0 on broadcast dims); `weights` (0 for none) gets
 * every element of the `[B, Hq, Tq, Tk]` weights, batch and head strides `wBatch` / `wHead` (floats).
 * `work` holds {@link attentionScratchBytes} bytes. A thread runs a range of KV heads by offsetting the
 * head pointers (q, k, v, out, mask, weights). A row whose keys are all masked gives zeros; a row with a
 * score that overflowed float32 (or a NaN) gives NaN, which core reports as MHA_OVERFLOW.
 */
export function attention(
  batch: i32, qHeads: i32, kvHeads: i32, tq: i32, tk: i32, dk: i32, dv: i32,
  q: usize, qBatch: i32, qHead: i32, qRow: i32,
  k: usize, kBatch: i32, kHead: i32, kRow: i32,
  v: usize, vBatch: i32, vHead: i32, vRow: i32,
  out: usize, oBatch: i32, oHead: i32, oRow: i32,
  scale: f32, causal: i32, softcap: f32,
  maskKind: i32, mask: usize, ms0: i32, ms1: i32, ms2: i32, ms3: i32,
  weights: usize, wBatch: i32, wHead: i32, work: usize,
): void {
  if (tq <= SMALL_QUERY_ROWS) {
    attentionSmall(batch, qHeads, kvHeads, tq, tk, dk, dv, q, qBatch, qHead, qRow, k, kBatch, kHead, kRow, v, vBatch, vHead, vRow, out, oBatch, oHead, oRow, scale, causal, softcap, maskKind, mask, ms0, ms1, ms2, ms3, weights, wBatch, wHead, work);
  } else if (twoPass(tk, weights != 0)) {
    attentionTiled(batch, qHeads, kvHeads, tq, tk, dk, dv, q, qBatch, qHead, qRow, k, kBatch, kHead, kRow, v, vBatch, vHead, vRow, out, oBatch, oHead, oRow, scale, causal, softcap, maskKind, mask, ms0, ms1, ms2, ms3, weights, wBatch, wHead, work);
  } else {
    attentionFlash(batch, qHeads, kvHeads, tq, tk, dk, dv, q, qBatch, qHead, qRow, k, kBatch, kHead, kRow, v, vBatch, vHead, vRow, out, oBatch, oHead, oRow, scale, causal, softcap, maskKind, mask, ms0, ms1, ms2, ms3, work);
  }
}
