import { MhaError, MhaErrorCode } from '@mha/core';
import { tensorProto } from './graph-builder.js';
import { DataType, onnx, ownedBytes } from './proto.js';

/** A tensor to serialise with {@link writeTensorProto}. */
export interface TensorToWrite {
  readonly name: string;
  readonly dims: readonly number[];
  /** float32, float64, int64, or bool (`Uint8Array` of 0/1); `Uint16Array` holds float16 bits. */
  readonly data: Float32Array | Float64Array | BigInt64Array | Uint8Array | Uint16Array;
}

function dataTypeOf(data: TensorToWrite['data']): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Uint16Array) return DataType.FLOAT16;
  return DataType.BOOL;
}

/**
 * Serialises one tensor as a bare `onnx.TensorProto` (values in little-endian `raw_data`), the
 * format of ONNX test-data files (`input_0.pb`, `output_0.pb`).
 *
 * @example
 * writeFileSync('input_0.pb', writeTensorProto({ name: 'x', dims: [1, 2, 3], data: x }));
 */
export function writeTensorProto(t: TensorToWrite): Uint8Array {
  if (!Array.isArray(t.dims)) throw new MhaError(MhaErrorCode.InvalidShape, `${t.name}.dims`, t.dims, 'must be an array of dims');
  t.dims.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) throw new MhaError(MhaErrorCode.InvalidShape, `${t.name}.dims[${i}]`, d, 'a dim must be a non-negative integer');
  });
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new MhaError(MhaErrorCode.ShapeMismatch, `${t.name}.data`, t.data.length, `dims [${t.dims.join(',')}] need ${n} values`);
  const proto = tensorProto(t.name, t.dims, t.data instanceof Uint16Array ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) : t.data, dataTypeOf(t.data));
  return ownedBytes(onnx.TensorProto.encode(proto).finish());
}
