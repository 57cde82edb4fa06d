// Building blocks of the decomposed graphs: only ops that exist unchanged from opset 13 to 17.
import type { GraphBuilder } from './graph-builder.js';

/** `shape(tensor)[axis]` as an int64 scalar, computed in the graph (so the size stays dynamic). */
export function dimOf(g: GraphBuilder, tensor: string, axis: number, hint: string): string {
  return g.memo(`dim:${tensor}:${axis}`, () => g.node('Gather', [shapeOf(g, tensor), g.constInt64([axis], [], `axis${axis}`)], { axis: { int: 0 } }, hint));
}

function shapeOf(g: GraphBuilder, tensor: string): string {
  return g.memo(`shape:${tensor}`, () => g.node('Shape', [tensor], {}, `${tensor}_shape`));
}

/** `shape(tensor)[start:end]` as an int64 vector. */
export function dimsOf(g: GraphBuilder, tensor: string, start: number, end: number, hint: string): string {
  return g.memo(`dims:${tensor}:${start}:${end}`, () => g.node('Slice', [shapeOf(g, tensor), g.constInt64([start]), g.constInt64([end])], {}, hint));
}

/**
 * The causal "may attend" matrix `[Tq, Tk]` (bool), `keep[i][j] = j <= i`: top-left aligned, built
 * from the runtime sizes so one model serves every sequence length.
 */
export function causalKeep(g: GraphBuilder, tq: string, tk: string, offset?: string): string {
  const zero = g.constInt64([0], [], 'zero');
  const one = g.constInt64([1], [], 'one');
  // With a past of `offset` keys, query i sits at position i + offset (bottom-right alignment).
  const rows = offset ? g.node('Range', [offset, g.node('Add', [tq, offset], {}, 'query_end'), one], {}, 'query_index') : g.node('Range', [zero, tq, one], {}, 'query_index');
  const cols = tq === tk && !offset ? rows : g.node('Range', [zero, tk, one], {}, 'key_index');
  const rowsCol = g.node('Unsqueeze', [rows, g.constInt64([1], [1], 'axes1')], {}, 'query_index_col');
  return g.node('GreaterOrEqual', [rowsCol, cols], {}, 'causal_keep');
}

/** `where(keep, scores, -inf)`: masked scores get exactly zero weight after the softmax. */
export function maskOut(g: GraphBuilder, scores: string, keep: string, hint: string): string {
  return g.node('Where', [keep, scores, g.constFloat([-Infinity], [], 'neg_inf')], {}, hint);
}

/**
 * Softmax over the last axis. `safe` handles rows whose every key is masked (`-inf`): the standard
 * Softmax gives NaN there, while the spec (and ONNX `Attention`) wants zeros. It is only needed when
 * a user mask can hide a whole row; causal masking alone always leaves key 0 visible.
 */
export function softmaxLastAxis(g: GraphBuilder, scores: string, safe: boolean, hint: string): string {
  if (!safe) return g.node('Softmax', [scores], { axis: { int: -1 } }, hint);
  const negInf = g.constFloat([-Infinity], [], 'neg_inf');
  const zero = g.constFloat([0], [], 'zero_f');
  const oneF = g.constFloat([1], [], 'one_f');
  const rowMax = g.node('ReduceMax', [scores], { axes: { ints: [-1] }, keepdims: { int: 1 } }, 'row_max');
  const dead = g.node('Equal', [rowMax, negInf], {}, 'row_fully_masked');
  // Subtracting 0 instead of -inf in dead rows keeps exp() at exp(-inf) = 0 rather than NaN.
  const shift = g.node('Where', [dead, zero, rowMax], {}, 'row_shift');
  const e = g.node('Exp', [g.node('Sub', [scores, shift], {}, 'shifted')], {}, 'exp');
  const sum = g.node('ReduceSum', [e, g.constInt64([-1], [1], 'axes_last')], { keepdims: { int: 1 } }, 'row_sum');
  const denom = g.node('Where', [dead, oneF, sum], {}, 'row_denominator');
  return g.node('Div', [e, denom], {}, hint);
}
