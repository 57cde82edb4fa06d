import { initWeights, isMhaError, MhaErrorCode, resolveConfig, type MhaConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { exportAttentionOp } from './core-op.js';
import { exportOnnx } from './export.js';
import { readModel, type OnnxModel } from './read.js';

// Numerics are tested where a runtime is available (@mha/backend-onnxruntime); here: structure.
const cfgOf = (c: MhaConfig) => resolveConfig(c);
const ops = (m: OnnxModel) => new Set(m.graph.nodes.map((n) => n.opType));
const init = (m: OnnxModel, name: string) => m.graph.initializers.find((t) => t.name === name);

describe('exportOnnx, decomposed flavour', () => {
  const config = cfgOf({ dIn: 5, dOut: 6, heads: 3, causal: true, qkvBias: true, scale: 0.3 });
  const weights = initWeights(config, 4);
  const m = readModel(exportOnnx(config, weights, { flavour: 'decomposed' }));

  it('is opset 17, IR 8, built from primitive ops only', () => {
    expect(m.opset).toBe(17);
    expect(m.irVersion).toBe(8);
    expect(m.producerName).toBe('@mha/onnx');
    expect(ops(m).has('Attention')).toBe(false);
    for (const op of ops(m)) {
      expect(['MatMul', 'Add', 'Mul', 'Reshape', 'Transpose', 'Gather', 'Shape', 'Range', 'Unsqueeze', 'GreaterOrEqual', 'Where', 'Softmax']).toContain(op);
    }
  });

  it('has input x [batch, tokens, dIn] and output [batch, tokens, dOut], symbolic batch and tokens', () => {
    expect(m.graph.inputs).toEqual([{ name: 'x', elemType: 1, dims: ['batch', 'tokens', 5] }]);
    expect(m.graph.outputs).toEqual([{ name: 'output', elemType: 1, dims: ['batch', 'tokens', 6] }]);
  });

  it('stores the weights as initializers: [wq | wk | wv] fused column-wise, biases, out projection', () => {
    const qkv = init(m, 'qkv_weight')!;
    expect(qkv.dims).toEqual([5, 18]);
    const data = qkv.data as Float32Array;
    for (const [p, w] of [weights.wq, weights.wk, weights.wv].entries()) {
      for (let i = 0; i < 5; i++) for (let j = 0; j < 6; j++) expect(data[i * 18 + p * 6 + j]).toBe(w[i * 6 + j]);
    }
    expect(Array.from(init(m, 'qkv_bias')!.data as Float32Array)).toEqual([...weights.bq!, ...weights.bk!, ...weights.bv!]);
    expect(Array.from(init(m, 'out_weight')!.data as Float32Array)).toEqual(Array.from(weights.wo!));
    expect(Array.from(init(m, 'out_bias')!.data as Float32Array)).toEqual(Array.from(weights.bo!));
    expect(Array.from(init(m, 'scale')!.data as Float32Array)).toEqual([Math.fround(0.3)]);
  });

  it('builds the causal mask from the runtime length: no initializer depends on T', () => {
    expect(ops(m).has('Range')).toBe(true);
    const sizes = new Set([5, 6, 18, 3, 2, 1]);
    for (const t of m.graph.initializers) for (const d of t.dims) expect(sizes.has(d), `${t.name} dims ${t.dims.join('x')}`).toBe(true);
    const nonCausal = readModel(exportOnnx({ ...config, causal: false }, weights, { flavour: 'decomposed' }));
    expect(ops(nonCausal).has('Range')).toBe(false);
    expect(ops(nonCausal).has('Where')).toBe(false);
  });

  it('writes the config into metadata', () => {
    expect(m.metadata['mha.flavour']).toBe('decomposed');
    expect(JSON.parse(m.metadata['mha.config']!)).toEqual({ dIn: 5, heads: 3, headDim: 2, causal: true, qkvBias: true, outProj: true, outProjBias: true, scale: 0.3 });
  });

  it('wrapper layout: no out projection initializers, output straight from the merged heads', () => {
    const wrapper = cfgOf({ dIn: 4, heads: 2, headDim: 3, causal: true, outProj: false });
    const w = readModel(exportOnnx(wrapper, initWeights(wrapper, 1)));
    expect(init(w, 'out_weight')).toBeUndefined();
    expect(w.graph.outputs).toEqual([{ name: 'output', elemType: 1, dims: ['batch', 'tokens', 6] }]);
  });

  it('optional outputs: attention_weights, and trace_* on request', () => {
    const both = readModel(exportOnnx(config, weights, { attentionWeights: true, traceOutputs: true }));
    expect(both.graph.outputs.map((o) => o.name)).toEqual(['output', 'attention_weights', 'trace_qkv', 'trace_q', 'trace_k', 'trace_v', 'trace_scores', 'trace_context', 'trace_merged']);
    expect(both.graph.outputs[1]!.dims).toEqual(['batch', 3, 'tokens', 'tokens']);
    // No Identity copies: the outputs are the tensors themselves.
    expect(ops(both).has('Identity')).toBe(false);
  });

  it('can be written at opset 13..17', () => {
    expect(readModel(exportOnnx(config, weights, { opset: 13 })).opset).toBe(13);
    expect(() => exportOnnx(config, weights, { opset: 18 })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.opset' }));
    expect(() => exportOnnx(config, weights, { opset: 12 })).toThrow(expect.objectContaining({ field: 'options.opset' }));
  });
});

describe('exportOnnx, attention-op flavour', () => {
  const config = cfgOf({ dIn: 8, dOut: 8, heads: 4, causal: true });
  const m = readModel(exportOnnx(config, initWeights(config, 2), { flavour: 'attention-op' }));

  it('is opset 23 with one standard Attention node carrying heads, causality and scale as attributes', () => {
    expect(m.opset).toBe(23);
    expect(m.irVersion).toBe(11);
    const attention = m.graph.nodes.filter((n) => n.opType === 'Attention');
    expect(attention).toHaveLength(1);
    expect(attention[0]!.domain).toBe('');
    expect(attention[0]!.attributes).toEqual({
      q_num_heads: { kind: 'int', value: 4 },
      kv_num_heads: { kind: 'int', value: 4 },
      is_causal: { kind: 'int', value: 1 },
      scale: { kind: 'float', value: Math.fround(1 / Math.sqrt(2)) },
    });
    expect([...ops(m)].sort()).toEqual(['Add', 'Attention', 'MatMul', 'Split']);
  });

  it('asks the operator for softmax weights (qk_matmul_output_mode 3) only when attention_weights is exported', () => {
    const w = readModel(exportOnnx(config, initWeights(config, 2), { flavour: 'attention-op', attentionWeights: true }));
    const node = w.graph.nodes.find((n) => n.opType === 'Attention')!;
    expect(node.attributes.qk_matmul_output_mode).toEqual({ kind: 'int', value: 3 });
    expect(node.outputs).toEqual(['merged', '', '', 'qk_softmax']);
    expect(w.graph.outputs.map((o) => [o.name, o.dims])).toEqual([
      ['output', ['batch', 'tokens', 8]],
      ['attention_weights', ['batch', 4, 'tokens', 'tokens']],
    ]);
  });

  it('only exists at opset 23', () => {
    expect(() => exportOnnx(config, initWeights(config, 2), { flavour: 'attention-op', opset: 17 })).toThrow(expect.objectContaining({ field: 'options.opset' }));
  });
});

describe('exported bytes', () => {
  it('are a plain Uint8Array that owns exactly its buffer, small (pooled by protobufjs) or large', () => {
    for (const config of [cfgOf({ dIn: 2, dOut: 2, heads: 1 }), cfgOf({ dIn: 64, dOut: 64, heads: 4 })]) {
      const bytes = exportOnnx(config, initWeights(config, 1));
      expect(bytes.constructor).toBe(Uint8Array);
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
      expect(readModel(bytes).graph.inputs[0]!.dims).toEqual(['batch', 'tokens', config.dIn]);
    }
  });
});

describe('exportOnnx input checks', () => {
  const config = cfgOf({ dIn: 4, dOut: 4, heads: 2 });
  it('validates config, weights and options with typed errors', () => {
    expect(() => exportOnnx({ dIn: 4, dOut: 5, heads: 2 }, initWeights(config, 1))).toThrow(expect.objectContaining({ code: 'MHA_HEADS_NOT_DIVISIBLE' }));
    expect(() => exportOnnx(config, { ...initWeights(config, 1), bq: new Float32Array(4) })).toThrow(expect.objectContaining({ code: 'MHA_WEIGHT_SHAPE', field: 'weights.bq' }));
    expect(() => exportOnnx(config, initWeights(config, 1), { flavour: 'tflite' as never })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.flavour' }));
    expect(() => exportOnnx(config, initWeights(config, 1), { weights: true } as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.weights' }));
    expect(() => exportOnnx(config, initWeights(config, 1), { attentionWeights: 1 } as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_TYPE' }));
  });
});

describe('exportAttentionOp', () => {
  it('has symbolic dims everywhere and the documented names', () => {
    const m = readModel(exportAttentionOp({ flavour: 'decomposed', weights: true, mask: { kind: 'bool', rank: 3 } }));
    expect(m.graph.inputs).toEqual([
      { name: 'q', elemType: 1, dims: ['batch', 'q_heads', 'q_tokens', 'qk_head_dim'] },
      { name: 'k', elemType: 1, dims: ['batch', 'kv_heads', 'kv_tokens', 'qk_head_dim'] },
      { name: 'v', elemType: 1, dims: ['batch', 'kv_heads', 'kv_tokens', 'v_head_dim'] },
      { name: 'attn_mask', elemType: 9, dims: ['mask_heads', 'mask_q_tokens', 'mask_kv_tokens'] },
    ]);
    expect(m.graph.outputs).toEqual([
      { name: 'output', elemType: 1, dims: ['batch', 'q_heads', 'q_tokens', 'v_head_dim'] },
      { name: 'weights', elemType: 1, dims: ['batch', 'q_heads', 'q_tokens', 'kv_tokens'] },
    ]);
    expect(m.graph.initializers.every((t) => t.dims.length <= 1)).toBe(true);
  });

  it('decomposed: computes the default scale from the head size in the graph; a fixed scale is a constant', () => {
    expect(ops(readModel(exportAttentionOp({})))).toContain('Sqrt');
    const fixed = readModel(exportAttentionOp({ scale: 0.5 }));
    expect(ops(fixed).has('Sqrt')).toBe(false);
    expect(Array.from(init(fixed, 'scale')!.data as Float32Array)).toEqual([0.5]);
  });

  it('attention-op: attributes only for what is set', () => {
    const plain = readModel(exportAttentionOp({ flavour: 'attention-op' }));
    expect(plain.graph.nodes.find((n) => n.opType === 'Attention')!.attributes).toEqual({ is_causal: { kind: 'int', value: 0 } });
    const full = readModel(exportAttentionOp({ flavour: 'attention-op', causal: true, scale: 0.25, softcap: 2, weights: true, mask: { kind: 'additive', rank: 2 } }));
    expect(full.graph.nodes.find((n) => n.opType === 'Attention')!.attributes).toEqual({
      is_causal: { kind: 'int', value: 1 },
      scale: { kind: 'float', value: 0.25 },
      softcap: { kind: 'float', value: 2 },
      qk_matmul_output_mode: { kind: 'int', value: 3 },
    });
    expect(full.graph.inputs[3]).toEqual({ name: 'attn_mask', elemType: 1, dims: ['mask_q_tokens', 'mask_kv_tokens'] });
  });

  it('rejects bad options', () => {
    expect(() => exportAttentionOp({ softcap: -1 })).toThrow(expect.objectContaining({ field: 'options.softcap' }));
    expect(() => exportAttentionOp({ scale: Infinity })).toThrow(expect.objectContaining({ field: 'options.scale' }));
    expect(() => exportAttentionOp({ mask: { kind: 'bool', rank: 5 as never } })).toThrow(expect.objectContaining({ field: 'options.mask.rank' }));
    expect(() => exportAttentionOp({ dropout: 0.1 } as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.dropout' }));
    expect(() => exportAttentionOp({ causal: 'yes' } as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_TYPE', field: 'options.causal' }));
  });
});

describe('exportOnnx module features: graph structure', () => {
  const gqa = cfgOf({ dIn: 8, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true });
  const cross = cfgOf({ dIn: 5, heads: 2, headDim: 3, kdim: 7, vdim: 4, causal: true });
  const io = (m: OnnxModel) => ({ inputs: m.graph.inputs.map((i) => [i.name, i.elemType, i.dims]), outputs: m.graph.outputs.map((o) => [o.name, o.dims]) });

  it.each(['decomposed', 'attention-op'] as const)('%s: GQA self-attention projects K/V to kvHeads*headDim in one fused MatMul', (flavour) => {
    const w = initWeights(gqa, 3);
    const m = readModel(exportOnnx(gqa, w, { flavour }));
    expect(io(m)).toEqual({ inputs: [['x', 1, ['batch', 'tokens', 8]]], outputs: [['output', ['batch', 'tokens', 12]]] });
    const qkv = init(m, 'qkv_weight')!;
    expect(qkv.dims).toEqual([8, 12 + 6 + 6]);
    const data = qkv.data as Float32Array;
    for (let i = 0; i < 8; i++) {
      expect(Array.from(data.subarray(i * 24, i * 24 + 12))).toEqual(Array.from(w.wq.subarray(i * 12, (i + 1) * 12)));
      expect(Array.from(data.subarray(i * 24 + 12, i * 24 + 18))).toEqual(Array.from(w.wk.subarray(i * 6, (i + 1) * 6)));
      expect(Array.from(data.subarray(i * 24 + 18, i * 24 + 24))).toEqual(Array.from(w.wv.subarray(i * 6, (i + 1) * 6)));
    }
    expect(Array.from(init(m, 'qkv_bias')!.data as Float32Array)).toEqual([...w.bq!, ...w.bk!, ...w.bv!]);
    expect(JSON.parse(m.metadata['mha.config']!)).toMatchObject({ kvHeads: 2 });
    if (flavour === 'attention-op') {
      const node = m.graph.nodes.find((n) => n.opType === 'Attention')!;
      expect(node.attributes.q_num_heads).toEqual({ kind: 'int', value: 4 });
      expect(node.attributes.kv_num_heads).toEqual({ kind: 'int', value: 2 });
      expect(node.attributes.is_causal).toEqual({ kind: 'int', value: 1 });
    } else {
      expect(ops(m).has('Attention')).toBe(false);
    }
  });

  it.each(['decomposed', 'attention-op'] as const)('%s: cross-attention (kdim/vdim) has key and value inputs and separate projections', (flavour) => {
    const w = initWeights(cross, 1);
    const m = readModel(exportOnnx(cross, w, { flavour, attentionWeights: true }));
    expect(io(m)).toEqual({
      inputs: [['x', 1, ['batch', 'tokens', 5]], ['key', 1, ['batch', 'kv_tokens', 7]], ['value', 1, ['batch', 'kv_tokens', 4]]],
      outputs: [['output', ['batch', 'tokens', 6]], ['attention_weights', ['batch', 2, 'tokens', 'kv_tokens']]],
    });
    expect(Array.from(init(m, 'k_weight')!.data as Float32Array)).toEqual(Array.from(w.wk));
    expect(init(m, 'k_weight')!.dims).toEqual([7, 6]);
    expect(init(m, 'v_weight')!.dims).toEqual([4, 6]);
    expect(init(m, 'qkv_weight')).toBeUndefined();
    expect(m.metadata['mha.graph']).toBe('module');
  });

  it.each(['decomposed', 'attention-op'] as const)('%s: mask and key-padding inputs with their element types', (flavour) => {
    const m = readModel(exportOnnx(cross, initWeights(cross, 1), { flavour, mask: { kind: 'bool', rank: 3 }, keyPaddingMask: 'additive', causalAlign: 'bottom-right' }));
    expect(io(m).inputs.slice(3)).toEqual([
      ['attn_mask', 9, ['mask_heads', 'mask_tokens', 'mask_kv_tokens']],
      ['key_padding_mask', 1, ['key_padding_batch', 'key_padding_kv_tokens']],
    ]);
    expect(JSON.parse(m.metadata['mha.features']!)).toEqual({ crossAttention: true, mask: { kind: 'bool', rank: 3 }, keyPaddingMask: 'additive', causalAlign: 'bottom-right', past: false });
    if (flavour === 'attention-op') {
      // Bottom-right causal is a mask part, not the operator's (top-left) is_causal.
      expect(m.graph.nodes.find((n) => n.opType === 'Attention')!.attributes.is_causal).toEqual({ kind: 'int', value: 0 });
    }
  });

  it.each(['decomposed', 'attention-op'] as const)('%s: a decoder step has past inputs and present outputs, written in the default domain', (flavour) => {
    const m = readModel(exportOnnx(gqa, initWeights(gqa, 1), { flavour, past: true }));
    expect(io(m)).toEqual({
      inputs: [['x', 1, ['batch', 'tokens', 8]], ['past_key', 1, ['batch', 2, 'past_tokens', 3]], ['past_value', 1, ['batch', 2, 'past_tokens', 3]]],
      outputs: [['output', ['batch', 'tokens', 12]], ['present_key', ['batch', 2, 'total_tokens', 3]], ['present_value', ['batch', 2, 'total_tokens', 3]]],
    });
    expect(m.graph.nodes.every((n) => (n.domain ?? '') === '')).toBe(true);
    expect(m.metadata['mha.graph']).toBe('module-decoder-step');
    if (flavour === 'attention-op') {
      const node = m.graph.nodes.find((n) => n.opType === 'Attention')!;
      expect(node.inputs.slice(4)).toEqual(['past_key', 'past_value']);
      expect(node.outputs.slice(1, 3)).toEqual(['present_key', 'present_value']);
    }
  });

  it('plain self-attention configs keep their original graphs', () => {
    const plain = cfgOf({ dIn: 4, heads: 2, headDim: 2, causal: true });
    const w = initWeights(plain, 1);
    for (const flavour of ['decomposed', 'attention-op'] as const) {
      expect(exportOnnx(plain, w, { flavour, causalAlign: 'bottom-right', crossAttention: false })).toEqual(exportOnnx(plain, w, { flavour }));
    }
  });

  it('attention-op can be written at opset 24', () => {
    expect(readModel(exportOnnx(gqa, initWeights(gqa, 1), { flavour: 'attention-op', opset: 24 })).opset).toBe(24);
    expect(() => exportOnnx(gqa, initWeights(gqa, 1), { flavour: 'attention-op', opset: 25 })).toThrow(expect.objectContaining({ field: 'options.opset' }));
  });
});

describe('exportOnnx module feature options: typed errors', () => {
  const gqa = cfgOf({ dIn: 4, heads: 2, kvHeads: 1, headDim: 2, causal: true });
  const cross = cfgOf({ dIn: 4, heads: 2, headDim: 2, kdim: 3 });
  const nonCausal = cfgOf({ dIn: 4, heads: 2, headDim: 2 });
  const cases: [string, () => unknown, string, string, unknown][] = [
    ['kdim != dIn without key/value inputs', () => exportOnnx(cross, initWeights(cross, 1), { crossAttention: false }), MhaErrorCode.InvalidOption, 'options.crossAttention', false],
    ['a bad mask kind', () => exportOnnx(gqa, initWeights(gqa, 1), { mask: { kind: 'float', rank: 2 } as never }), MhaErrorCode.InvalidOption, 'options.mask.kind', 'float'],
    ['a bad mask rank', () => exportOnnx(gqa, initWeights(gqa, 1), { mask: { kind: 'bool', rank: 1 } as never }), MhaErrorCode.InvalidOption, 'options.mask.rank', 1],
    ['a bad key-padding kind', () => exportOnnx(gqa, initWeights(gqa, 1), { keyPaddingMask: true } as never), MhaErrorCode.InvalidOption, 'options.keyPaddingMask', true],
    ['a bad alignment', () => exportOnnx(gqa, initWeights(gqa, 1), { causalAlign: 'center' } as never), MhaErrorCode.InvalidOption, 'options.causalAlign', 'center'],
    ['past not a boolean', () => exportOnnx(gqa, initWeights(gqa, 1), { past: 1 } as never), MhaErrorCode.InvalidType, 'options.past', 1],
    ['past with a mask', () => exportOnnx(gqa, initWeights(gqa, 1), { past: true, mask: { kind: 'bool', rank: 2 } }), MhaErrorCode.InvalidOption, 'options.mask', { kind: 'bool', rank: 2 }],
    ['past with key padding', () => exportOnnx(gqa, initWeights(gqa, 1), { past: true, keyPaddingMask: 'bool' }), MhaErrorCode.InvalidOption, 'options.keyPaddingMask', 'bool'],
    ['past with attention weights', () => exportOnnx(gqa, initWeights(gqa, 1), { past: true, attentionWeights: true }), MhaErrorCode.InvalidOption, 'options.attentionWeights', true],
    ['past with top-left', () => exportOnnx(gqa, initWeights(gqa, 1), { past: true, causalAlign: 'top-left' }), MhaErrorCode.InvalidOption, 'options.causalAlign', 'top-left'],
    ['past with cross-attention', () => exportOnnx(gqa, initWeights(gqa, 1), { past: true, crossAttention: true }), MhaErrorCode.InvalidOption, 'options.crossAttention', true],
    ['past with kdim != dIn', () => exportOnnx({ ...cross, causal: true }, initWeights(cross, 1), { past: true }), MhaErrorCode.InvalidOption, 'options.past', true],
    ['past on a non-causal config', () => exportOnnx(nonCausal, initWeights(nonCausal, 1), { past: true }), MhaErrorCode.InvalidOption, 'options.past', true],
    ['trace outputs of a GQA graph', () => exportOnnx(gqa, initWeights(gqa, 1), { traceOutputs: true }), MhaErrorCode.InvalidOption, 'options.traceOutputs', true],
  ];
  it.each(cases)('%s', (_, call, code, field, value) => {
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(isMhaError(err) && [err.code, err.field, err.value]).toEqual([code, field, value]);
  });
});
