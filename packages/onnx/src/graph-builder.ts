import { DataType, littleEndianBytes, onnx, ownedBytes, type OnnxProto } from './proto.js';

/** A dimension of a graph input/output: a fixed size or a symbolic name (`dim_param`). */
export type Dim = number | string;

/** A node attribute value, tagged with its ONNX type. */
export type Attr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly string: string };

function attribute(name: string, a: Attr): OnnxProto.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
}

/** A `ValueInfoProto` for a tensor of `elemType` with the given dims (`undefined`: rank unknown). */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[] | undefined, doc?: string): OnnxProto.IValueInfoProto {
  const shape = dims === undefined ? undefined : { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) };
  return { name, type: { tensorType: { elemType, shape } }, docString: doc };
}

/** A `TensorProto` holding `data` in `raw_data` (little-endian), as ONNX's own tools write initializers. */
export function tensorProto(
  name: string,
  dims: readonly number[],
  data: Float32Array | Float64Array | BigInt64Array | Uint8Array,
  dataType: number,
): OnnxProto.ITensorProto {
  return { name, dims: [...dims], dataType, rawData: littleEndianBytes(data) };
}

/**
 * Builds one ONNX graph node by node. Tensor names are unique: a requested name that is taken gets
 * a numeric suffix, so graph fragments can be composed without coordinating names.
 */
export class GraphBuilder {
  private readonly nodes: OnnxProto.INodeProto[] = [];
  private readonly initializers: OnnxProto.ITensorProto[] = [];
  private readonly inputs: OnnxProto.IValueInfoProto[] = [];
  private readonly outputs: OnnxProto.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();
  private readonly memos = new Map<string, string>();
  private nodeCount = 0;

  /** A fresh tensor name based on `hint`. */
  name(hint: string): string {
    let n = hint;
    for (let i = 1; this.used.has(n); i++) n = `${hint}_${i}`;
    this.used.add(n);
    return n;
  }

  /** Builds a tensor once per `key` (e.g. the `Shape` of a tensor used in several places). */
  memo(key: string, make: () => string): string {
    let t = this.memos.get(key);
    if (t === undefined) {
      t = make();
      this.memos.set(key, t);
    }
    return t;
  }

  /** Declares a graph input and returns its name (used verbatim: inputs are public names). */
  input(name: string, elemType: number, dims: readonly Dim[] | undefined, doc?: string): string {
    if (this.used.has(name)) throw new Error(`graph input name '${name}' already used`);
    this.used.add(name);
    this.inputs.push(valueInfo(name, elemType, dims, doc));
    return name;
  }

  /**
   * Declares `tensor` as a graph output called `name`. When the tensor already has another name an
   * `Identity` gives it the public one (an output name must be a node's output).
   */
  output(name: string, tensor: string, elemType: number, dims: readonly Dim[] | undefined, doc?: string): void {
    let source = tensor;
    if (source !== name) {
      if (this.used.has(name)) throw new Error(`graph output name '${name}' already used`);
      this.used.add(name);
      this.nodes.push({ name: `Identity_${this.nodeCount++}`, opType: 'Identity', input: [source], output: [name] });
      source = name;
    }
    this.outputs.push(valueInfo(source, elemType, dims, doc));
  }

  /** Adds a float32 initializer (weights) and returns its name. */
  floatInitializer(hint: string, dims: readonly number[], data: Float32Array): string {
    const name = this.name(hint);
    this.initializers.push(tensorProto(name, dims, data, DataType.FLOAT));
    return name;
  }

  /** A float32 constant (scalar when `dims` is `[]`), shared between uses of the same value. */
  constFloat(values: readonly number[], dims: readonly number[] = [values.length], hint = 'const_f'): string {
    return this.constant('f', values, dims, hint, () => Float32Array.from(values), DataType.FLOAT);
  }

  /** An int64 constant (scalar when `dims` is `[]`), shared between uses of the same value. */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length], hint = 'const_i'): string {
    return this.constant('i', values, dims, hint, () => BigInt64Array.from(values, (v) => BigInt(v)), DataType.INT64);
  }

  private constant(
    kind: string,
    values: readonly number[],
    dims: readonly number[],
    hint: string,
    make: () => Float32Array | BigInt64Array,
    dataType: number,
  ): string {
    // Object.is keeps -0 apart from 0 and spells -Infinity distinctly, so the key is exact.
    const key = `${kind}[${dims.join(',')}]:${values.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(',')}`;
    const found = this.constants.get(key);
    if (found !== undefined) return found;
    const name = this.name(hint);
    this.initializers.push(tensorProto(name, dims, make(), dataType));
    this.constants.set(key, name);
    return name;
  }

  /**
   * Appends a node and returns its output names. `outputs` is a count (auto-named from `hint`)
   * or explicit names (each made unique); an empty string marks an unused optional output.
   */
  nodeN(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>> = {}, outputs: number | readonly string[] = 1, hint = opType.toLowerCase()): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.name(hint)) : outputs.map((o) => (o === '' ? '' : this.name(o)));
    this.nodes.push({
      name: `${opType}_${this.nodeCount++}`,
      opType,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Appends a single-output node and returns the output's name (`hint` names it). */
  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>> = {}, hint?: string): string {
    return this.nodeN(opType, inputs, attrs, [hint ?? opType.toLowerCase()])[0]!;
  }

  /** The finished `GraphProto`. */
  graph(name: string, doc: string): OnnxProto.IGraphProto {
    return { name, docString: doc, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}

/** Everything a model needs besides its graph. */
export interface ModelMeta {
  readonly irVersion: number;
  readonly opset: number;
  readonly doc: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Producer name written into every exported model. */
export const PRODUCER = '@mha/onnx';

/** Serialises a graph into `ModelProto` bytes with onnx-proto. */
export function encodeModel(graph: OnnxProto.IGraphProto, meta: ModelMeta): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: meta.irVersion,
    opsetImport: [{ domain: '', version: meta.opset }],
    producerName: PRODUCER,
    docString: meta.doc,
    graph,
    metadataProps: Object.entries(meta.metadata).map(([key, value]) => ({ key, value })),
  });
  return ownedBytes(onnx.ModelProto.encode(model).finish());
}
