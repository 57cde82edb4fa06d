/**
 * Input data as onnxruntime-node accepts it. Its binding refuses typed arrays over a
 * `SharedArrayBuffer` ("Invalid argument"), so those are copied into a fresh, unshared array;
 * anything else goes through as is (onnxruntime never writes to its inputs).
 */
export function unsharedFloat32(data: Float32Array): Float32Array {
  if (data.buffer instanceof ArrayBuffer) return data;
  const copy = new Float32Array(data.length);
  copy.set(data);
  return copy;
}

/**
 * A bool mask as bytes that are exactly 0 or 1. The spec reads any nonzero byte as "attends", but
 * onnxruntime's bool tensors hold raw bytes and its ops (`And`, `Where`) misread values like 2 or 255.
 */
export function boolBytes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] === 0 ? 0 : 1;
  return out;
}

/** Largest `|v|` of `data` (NaN-free input assumed, as core validates). */
export function maxAbs(data: Float32Array): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a > m) m = a;
  }
  return m;
}
