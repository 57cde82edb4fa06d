import { maskStrides, type ValidAttention } from '@mha/core';
import { runAttention } from './attention-kernel.js';
import { ScratchPool } from './scratch.js';

/**
 * The core op on validated, non-empty inputs (`q [B,Hq,Tq,dk]`, `k`/`v [B,Hkv,Tk,dk|dv]`): the same
 * tiled kernel as the module, over contiguous `[B, H, T, d]` tensors, with the optional soft-cap,
 * mask, grouped-query and cross-attention handled there. Work buffers live for this call only. K/V may be
 * a module cache's storage read in place (`kvRowsPerHead`, the backend sets `readsKvInPlace`).
 */
export function coreAttention(a: ValidAttention): { output: Float32Array; weights: Float32Array | undefined } {
  const { batch: B, qHeads: Hq, kvHeads: Hkv, tq, tk, dk, dv } = a;
  const output = new Float32Array(B * Hq * tq * dv);
  const weights = a.returnWeights ? new Float32Array(B * Hq * tq * tk) : undefined;
  const contiguous = <T extends Float32Array>(data: T, heads: number, rows: number, width: number) => ({
    data,
    offset: 0,
    batchStride: heads * rows * width,
    headStride: rows * width,
    rowStride: width,
  });
  runAttention(
    {
      batch: B,
      qHeads: Hq,
      kvHeads: Hkv,
      tq,
      tk,
      dk,
      dv,
      q: contiguous(a.q, Hq, tq, dk),
      // A module cache read in place holds kvRowsPerHead rows per head, of which the first tk are the keys.
      k: contiguous(a.k, Hkv, a.kvRowsPerHead ?? tk, dk),
      v: contiguous(a.v, Hkv, a.kvRowsPerHead ?? tk, dv),
      out: contiguous(output, Hq, tq, dv),
      scale: a.scale,
      causal: a.causal,
      softcap: a.softcap,
      mask: a.mask ? { kind: a.mask.kind, data: a.mask.data, strides: maskStrides(a.mask, [B, Hq, tq, tk]) } : undefined,
      weights,
    },
    new ScratchPool(false),
  );
  return { output, weights };
}
