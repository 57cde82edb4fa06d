import { MhaError, MhaErrorCode } from '@mha/core';
import { halfBitsToFloat32 } from './float16.js';
import { DataType } from './data-type.js';
import { onnx, toNumber, type Int64Like, type OnnxProto } from './proto.js';

/** Element types {@link readTensorProto} decodes, by name. */
export type OnnxElementType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'bool' | 'int64' | 'int32' | 'int8' | 'uint8';

const TYPE_NAMES: Readonly<Record<number, OnnxElementType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

const BYTES: Readonly<Record<OnnxElementType, number>> = { float32: 4, float16: 2, bfloat16: 2, float64: 8, bool: 1, int64: 8, int32: 4, int8: 1, uint8: 1 };

/** A decoded `TensorProto`. */
export interface OnnxTensor {
  readonly name: string;
  /** Shape, row-major. `[]` for a scalar. */
  readonly dims: number[];
  /** The ONNX `TensorProto.DataType` code (1 float32, 10 float16, 11 float64, 9 bool, 7 int64, ...). */
  readonly dataType: number;
  readonly type: OnnxElementType;
  /**
   * The values, in a fresh, aligned array: `Float32Array` for float32, float16 and bfloat16 (halves
   * widened exactly), `Float64Array`, `Uint8Array` (bool as 0/1, uint8), `Int8Array`, `Int32Array`,
   * `BigInt64Array` (int64).
   */
  readonly data: Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;
  /** For float16 tensors: the raw half bits (what onnxruntime wants fed for a float16 input). */
  readonly float16Bits?: Uint16Array | undefined;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Typed view of little-endian `raw_data`, copied first: protobufjs hands out unaligned slices of a shared pool. */
function fromRaw(raw: Uint8Array, type: OnnxElementType, n: number, field: string): OnnxTensor['data'] | Uint16Array {
  const size = BYTES[type];
  if (raw.byteLength !== n * size) {
    throw new MhaError(MhaErrorCode.ShapeMismatch, field, raw.byteLength, `raw_data holds ${raw.byteLength} bytes, dims need ${n} x ${size}`);
  }
  const bytes = new Uint8Array(raw); // owns an aligned buffer
  const buf = bytes.buffer;
  if (!LITTLE_ENDIAN && size > 1) {
    const view = new DataView(buf);
    const read = (i: number): number | bigint => {
      if (type === 'float32') return view.getFloat32(i * 4, true);
      if (type === 'float64') return view.getFloat64(i * 8, true);
      if (type === 'int64') return view.getBigInt64(i * 8, true);
      if (type === 'int32') return view.getInt32(i * 4, true);
      return view.getUint16(i * 2, true);
    };
    const out = type === 'float32' ? new Float32Array(n) : type === 'float64' ? new Float64Array(n) : type === 'int64' ? new BigInt64Array(n) : type === 'int32' ? new Int32Array(n) : new Uint16Array(n);
    for (let i = 0; i < n; i++) (out as unknown as (number | bigint)[])[i] = read(i);
    return out;
  }
  switch (type) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf);
    default:
      return bytes;
  }
}

/** The typed repeated fields ONNX uses when `raw_data` is empty (float16/bool/int8 packed one per int32). */
function fromFields(t: OnnxProto.TensorProto, type: OnnxElementType, n: number, field: string): OnnxTensor['data'] | Uint16Array {
  const held = (type === 'float32' ? t.floatData : type === 'float64' ? t.doubleData : type === 'int64' ? t.int64Data : t.int32Data).length;
  // Checked before allocating: the dims alone must not size an array the data cannot fill.
  if (held !== n) throw new MhaError(MhaErrorCode.ShapeMismatch, field, held, `tensor holds ${held} values, dims need ${n}`);
  let out: OnnxTensor['data'] | Uint16Array;
  let src: ArrayLike<number | Int64Like>;
  switch (type) {
    case 'float32':
      [out, src] = [new Float32Array(n), t.floatData];
      break;
    case 'float64':
      [out, src] = [new Float64Array(n), t.doubleData];
      break;
    case 'int64':
      [out, src] = [new BigInt64Array(n), t.int64Data];
      break;
    case 'float16':
    case 'bfloat16':
      [out, src] = [new Uint16Array(n), t.int32Data];
      break;
    case 'int32':
      [out, src] = [new Int32Array(n), t.int32Data];
      break;
    case 'int8':
      [out, src] = [new Int8Array(n), t.int32Data];
      break;
    default:
      [out, src] = [new Uint8Array(n), t.int32Data];
  }
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) out[i] = BigInt(toNumber(src[i] as Int64Like));
  } else {
    for (let i = 0; i < n; i++) out[i] = Number(src[i]);
  }
  return out;
}

/**
 * A tensor's dims, checked before anything is sized from them: each a non-negative safe integer and
 * the element count a safe integer (the data itself is checked against that count before it is copied).
 */
function checkedDims(dims: number[], field: string): number[] {
  let n = 1;
  for (const [i, d] of dims.entries()) {
    if (!Number.isSafeInteger(d) || d < 0) throw new MhaError(MhaErrorCode.InvalidShape, `${field}[${i}]`, d, 'a dim must be a non-negative integer');
    n *= d;
    if (!Number.isSafeInteger(n)) throw new MhaError(MhaErrorCode.InvalidShape, field, dims, 'the element count is too large');
  }
  return dims;
}

/**
 * Decodes an already-parsed `onnx.TensorProto` message (onnx-proto / protobufjs). Typed as `object` so these
 * declarations do not pull in onnx-proto's types.
 */
export function tensorFromProto(message: object, field = 'tensor'): OnnxTensor {
  return decodeTensor(message as OnnxProto.TensorProto, field);
}

function decodeTensor(t: OnnxProto.TensorProto, field: string): OnnxTensor {
  const dataType = t.dataType;
  const type = TYPE_NAMES[dataType];
  if (type === undefined) throw new MhaError(MhaErrorCode.InvalidType, `${field}.dataType`, dataType, `unsupported element type; readable: ${Object.values(TYPE_NAMES).join(', ')}`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new MhaError(MhaErrorCode.InvalidType, `${field}.dataLocation`, 'EXTERNAL', 'tensors stored in external files are not supported');
  }
  const dims = checkedDims(t.dims.map((d) => toNumber(d)), `${field}.dims`);
  const n = dims.reduce((a, b) => a * b, 1);
  const values = t.rawData.byteLength > 0 ? fromRaw(t.rawData, type, n, `${field}.rawData`) : fromFields(t, type, n, field);
  const base = { name: t.name, dims, dataType };
  if (type === 'float16') return { ...base, type, data: halfBitsToFloat32(values as Uint16Array), float16Bits: values as Uint16Array };
  if (type === 'bfloat16') {
    // bfloat16 is the top half of a float32.
    const bits = values as Uint16Array;
    const wide = new Uint32Array(bits.length);
    for (let i = 0; i < bits.length; i++) wide[i] = bits[i]! << 16;
    return { ...base, type, data: new Float32Array(wide.buffer) };
  }
  return { ...base, type, data: values as OnnxTensor['data'] };
}

/**
 * Decodes one serialised `onnx.TensorProto` (an ONNX test-data `.pb` file), handling float32,
 * float16 (widened to float32, raw bits kept), bfloat16, float64, bool, int64, int32, int8, uint8,
 * from `raw_data` or the typed fields.
 *
 * @example
 * const t = readTensorProto(readFileSync('test_data_set_0/input_0.pb'));
 * t.dims; // [2, 3, 4, 8]
 */
export function readTensorProto(bytes: Uint8Array): OnnxTensor {
  let t: OnnxProto.TensorProto;
  try {
    t = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new MhaError(MhaErrorCode.InvalidType, 'bytes', bytes.byteLength, `not a serialised onnx.TensorProto: ${(e as Error).message}`);
  }
  return decodeTensor(t, 'tensor');
}

/** An attribute value, tagged with its kind. Integers are converted from int64 to numbers. */
export type OnnxAttribute =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: OnnxTensor }
  | { readonly kind: 'graph'; readonly value: OnnxGraph }
  | { readonly kind: 'floats'; readonly value: number[] }
  | { readonly kind: 'ints'; readonly value: number[] }
  | { readonly kind: 'strings'; readonly value: string[] }
  | { readonly kind: 'other'; readonly type: number };

/** A graph input or output. */
export interface OnnxValueInfo {
  readonly name: string;
  /** Element type code (0 when the type is not a tensor). */
  readonly elemType: number;
  /** Per dim: its size, its symbolic name, or `null` when neither is given; `undefined` when the rank is unknown. */
  readonly dims: (number | string | null)[] | undefined;
}

/** One node. `inputs`/`outputs` keep empty strings: they mark unused optional slots. */
export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  /** `''` is the default `ai.onnx` domain. */
  readonly domain: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attributes: Readonly<Record<string, OnnxAttribute>>;
}

/** A decoded graph. */
export interface OnnxGraph {
  readonly name: string;
  readonly nodes: OnnxNode[];
  readonly inputs: OnnxValueInfo[];
  readonly outputs: OnnxValueInfo[];
  readonly initializers: OnnxTensor[];
}

/** A decoded model. */
export interface OnnxModel {
  readonly irVersion: number;
  readonly producerName: string;
  readonly opsetImport: { domain: string; version: number }[];
  /** Version of the default (`ai.onnx`) domain, or 0 when not imported. */
  readonly opset: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly docString: string;
  readonly graph: OnnxGraph;
}

const utf8 = new TextDecoder();

function attributeOf(a: OnnxProto.AttributeProto): OnnxAttribute {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return { kind: 'float', value: a.f };
    case T.INT:
      return { kind: 'int', value: toNumber(a.i) };
    case T.STRING:
      return { kind: 'string', value: utf8.decode(a.s) };
    case T.TENSOR:
      return { kind: 'tensor', value: decodeTensor(a.t as OnnxProto.TensorProto, `attribute ${a.name}`) };
    case T.GRAPH:
      return { kind: 'graph', value: graphOf(a.g as OnnxProto.GraphProto) };
    case T.FLOATS:
      return { kind: 'floats', value: [...a.floats] };
    case T.INTS:
      return { kind: 'ints', value: a.ints.map((i) => toNumber(i)) };
    case T.STRINGS:
      return { kind: 'strings', value: a.strings.map((s) => utf8.decode(s)) };
    default:
      return { kind: 'other', type: a.type };
  }
}

function valueInfoOf(v: OnnxProto.IValueInfoProto): OnnxValueInfo {
  const tensorType = v.type?.tensorType;
  const shape = tensorType?.shape;
  return {
    name: v.name ?? '',
    elemType: tensorType?.elemType ?? 0,
    dims: shape ? (shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : null)) : undefined,
  };
}

function graphOf(g: OnnxProto.GraphProto): OnnxGraph {
  return {
    name: g.name,
    nodes: (g.node as OnnxProto.NodeProto[]).map((n) => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      inputs: [...n.input],
      outputs: [...n.output],
      attributes: Object.fromEntries(n.attribute.map((a) => [a.name, attributeOf(a as OnnxProto.AttributeProto)])),
    })),
    inputs: g.input.map(valueInfoOf),
    outputs: g.output.map(valueInfoOf),
    initializers: g.initializer.map((t, i) => decodeTensor(t as OnnxProto.TensorProto, `initializer ${t.name || i}`)),
  };
}

/**
 * Decodes a serialised `onnx.ModelProto`: opsets, metadata, and the graph's nodes (op type, domain,
 * attributes with int64s as numbers), inputs/outputs (element type, dims) and initializers.
 *
 * @example
 * const m = readModel(readFileSync('model.onnx'));
 * m.graph.nodes[0]?.opType; // 'Attention'
 * m.graph.nodes[0]?.attributes.is_causal; // { kind: 'int', value: 1 }
 */
export function readModel(bytes: Uint8Array): OnnxModel {
  let m: OnnxProto.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new MhaError(MhaErrorCode.InvalidType, 'bytes', bytes.byteLength, `not a serialised onnx.ModelProto: ${(e as Error).message}`);
  }
  if (!m.graph) throw new MhaError(MhaErrorCode.InvalidType, 'bytes', bytes.byteLength, 'the ModelProto has no graph');
  const opsetImport = m.opsetImport.map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version) }));
  return {
    irVersion: toNumber(m.irVersion),
    producerName: m.producerName,
    opsetImport,
    opset: opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
    metadata: Object.fromEntries(m.metadataProps.map((p) => [p.key ?? '', p.value ?? ''])),
    docString: m.docString,
    graph: graphOf(m.graph as OnnxProto.GraphProto),
  };
}

export { DataType };
