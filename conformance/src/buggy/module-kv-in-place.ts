// A backend that reads a module cache in place (`readsKvInPlace`, issue 14): K/V arrive as the cache's storage
// `[B, Hkv, capacity, d]` with `kvRowsPerHead = capacity`. The control honours the stride; the bug reads the
// storage as if it were contiguous `[B, Hkv, Tk, d]`. Meta-tests: src/meta-module-kvcache.test.ts.
import { deriveBackend, referenceAttentionValid, type MhaBackend, type ValidAttention } from '@mha/core';
import { referenceBackend } from '../reference-backend.js';

/** Rows `0..tk-1` of each (batch, head) of a `[B, H, rows, d]` array, contiguous. */
function compact(data: Float32Array, bh: number, rows: number, tk: number, d: number): Float32Array {
  const out = new Float32Array(bh * tk * d);
  for (let i = 0; i < bh; i++) out.set(data.subarray(i * rows * d, (i * rows + tk) * d), i * tk * d);
  return out;
}

/** The reference reading K/V in place: `honourStride` false is the bug (the stride is ignored). */
export function kvInPlaceBackend(honourStride: boolean): MhaBackend {
  return deriveBackend(referenceBackend, {
    name: honourStride ? 'kv-in-place-control' : 'kv-in-place-bug-stride-ignored',
    readsInputsSynchronously: true,
    readsKvInPlace: true,
    attention(a: ValidAttention) {
      const rows = honourStride ? (a.kvRowsPerHead ?? a.tk) : a.tk;
      const bh = a.batch * a.kvHeads;
      const plain = { ...a, k: compact(a.k, bh, rows, a.tk, a.dk), v: compact(a.v, bh, rows, a.tk, a.dv) };
      const r = referenceAttentionValid(plain);
      return { output: Float32Array.from(r.output), weights: a.returnWeights ? Float32Array.from(r.weights) : undefined };
    },
  });
}
