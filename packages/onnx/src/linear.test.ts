import { describe, expect, it } from 'vitest';
import { exportLinear, LINEAR_NAMES } from './linear.js';
import { readModel } from './read.js';

describe('exportLinear', () => {
  it('with a bias: MatMul then Add into y, weight and bias as inputs, every dim symbolic', () => {
    const m = readModel(exportLinear({ bias: true }));
    expect(m.opsetImport).toEqual([{ domain: '', version: 17 }]);
    expect(m.graph.initializers).toEqual([]);
    expect(m.graph.inputs.map((i) => [i.name, i.dims])).toEqual([
      [LINEAR_NAMES.input, ['rows', 'in_dim']],
      [LINEAR_NAMES.weight, ['in_dim', 'out_dim']],
      [LINEAR_NAMES.bias, ['out_dim']],
    ]);
    expect(m.graph.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual([
      ['MatMul', ['x', 'weight'], ['matmul']],
      ['Add', ['matmul', 'bias'], ['y']],
    ]);
    expect(m.graph.outputs.map((o) => [o.name, o.dims])).toEqual([[LINEAR_NAMES.output, ['rows', 'out_dim']]]);
  });

  it('without a bias: one MatMul into y, no bias input', () => {
    const m = readModel(exportLinear({ bias: false }));
    expect(m.graph.inputs.map((i) => i.name)).toEqual(['x', 'weight']);
    expect(m.graph.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual([['MatMul', ['x', 'weight'], ['y']]]);
  });
});
