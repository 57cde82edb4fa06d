// The one place that touches onnx-proto's CommonJS module, so the rest imports plain ESM names.
import onnxProto from 'onnx-proto';

/** onnx-proto's protobufjs static classes (`onnx.ModelProto`, `onnx.TensorProto`, ...), ONNX v1.10 schema. */
export const onnx = onnxProto.onnx;
export type { onnx as OnnxProto } from 'onnx-proto';

export { DataType } from './data-type.js';

/** A 64-bit integer as protobufjs decodes it: a `number`, or a `Long`-like object for int64 fields. */
export type Int64Like = number | { toNumber(): number } | null | undefined;

/** Converts a decoded int64 (protobufjs gives `Long` objects) to a JS number. */
export function toNumber(v: Int64Like): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/**
 * protobufjs returns a Node `Buffer` that may be a slice of a shared pool. Hand callers a
 * Uint8Array that owns exactly its bytes, so `bytes.buffer` is safe to pass on.
 */
export function ownedBytes(b: Uint8Array): Uint8Array {
  // A large Buffer has an ArrayBuffer of its own: re-wrap it as a plain Uint8Array without copying.
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer);
  const out = new Uint8Array(b.byteLength);
  out.set(b);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Little-endian bytes of a typed array (ONNX `raw_data` is little-endian). No copy on little-endian hosts. */
export function littleEndianBytes(a: Float32Array | Float64Array | BigInt64Array | Uint16Array | Uint8Array): Uint8Array {
  if (LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) view.setFloat32(i * 4, a[i]!, true);
    else if (a instanceof Float64Array) view.setFloat64(i * 8, a[i]!, true);
    else if (a instanceof BigInt64Array) view.setBigInt64(i * 8, a[i]!, true);
    else view.setUint16(i * 2, a[i]!, true);
  }
  return out;
}
