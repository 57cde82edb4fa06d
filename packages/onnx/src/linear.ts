import { encodeModel, GraphBuilder } from './graph-builder.js';
import { DataType } from './proto.js';

/** Tensor names of {@link exportLinear}'s graph. */
export const LINEAR_NAMES = {
  /** `x`: float32 `[rows, in_dim]`. */
  input: 'x',
  /** `weight`: float32 `[in_dim, out_dim]` (the canonical `[in, out]` layout). */
  weight: 'weight',
  /** Optional `bias` (`bias: true`): float32 `[out_dim]`. */
  bias: 'bias',
  /** `y`: float32 `[rows, out_dim]`. */
  output: 'y',
} as const;

/**
 * A dense projection `y = x @ weight (+ bias)` as an ONNX model (opset 17: `MatMul`, `Add`), with the weight
 * and bias as graph inputs and every dimension symbolic, so one session serves every projection of every
 * module. onnxruntime backends run the projections of lowered module calls with it.
 *
 * @example
 * const bytes = exportLinear({ bias: true });
 */
export function exportLinear(options: { readonly bias: boolean }): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input(LINEAR_NAMES.input, DataType.FLOAT, ['rows', 'in_dim']);
  const w = g.input(LINEAR_NAMES.weight, DataType.FLOAT, ['in_dim', 'out_dim']);
  const b = options.bias ? g.input(LINEAR_NAMES.bias, DataType.FLOAT, ['out_dim']) : undefined;
  const y = b ? g.node('Add', [g.node('MatMul', [x, w], {}, 'matmul'), b], {}, LINEAR_NAMES.output) : g.node('MatMul', [x, w], {}, LINEAR_NAMES.output);
  g.output(LINEAR_NAMES.output, y, DataType.FLOAT, ['rows', 'out_dim']);
  const doc = `Dense projection y = x @ weight${options.bias ? ' + bias' : ''}, exported by @mha/onnx.`;
  return encodeModel(g.graph('linear', doc), { irVersion: 8, opset: 17, doc, metadata: { 'mha.format': 'mha-onnx/1', 'mha.graph': 'linear' } });
}
