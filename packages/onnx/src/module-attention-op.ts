import type { MhaWeights, ResolvedMhaConfig } from '@mha/core';
import { dimsOf } from './decomposed-ops.js';
import type { GraphBuilder } from './graph-builder.js';
import type { ModuleGraphOptions } from './module-options.js';
import { MODULE_NAMES as N, TRACE_OUTPUTS } from './names.js';
import { projectOutput, projectQkv } from './projection.js';
import { DataType } from './proto.js';

/**
 * The module around the standard ONNX `Attention` operator (opset 23) in its 3D layout: one fused
 * QKV MatMul, a Split, `Attention` with the head counts, `is_causal` and `scale` as attributes (it
 * splits and merges heads itself), then the output projection.
 */
export function buildAttentionOpModule(g: GraphBuilder, config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, options: ModuleGraphOptions): void {
  const { heads: H, dOut } = config;
  const B = N.batchDim;
  const T = N.tokensDim;
  const trace = (step: keyof typeof TRACE_OUTPUTS, plain: string) => (options.traceOutputs ? TRACE_OUTPUTS[step] : plain);
  const x = g.input(N.input, DataType.FLOAT, [B, T, config.dIn], 'input tokens [batch, tokens, dIn]');
  const proj = projectQkv(g, config, weights, x, trace('qkv', 'qkv_proj'));
  const [q, k, v] = g.nodeN('Split', [proj], { axis: { int: 2 }, num_outputs: { int: 3 } }, [trace('q', 'q'), trace('k', 'k'), trace('v', 'v')]) as [string, string, string];
  // onnxruntime refuses a float32 scale <= 0 (0, -0, negative, or rounding to 0): such a scale is
  // folded into q instead, with the operator's scale at 1 ((q * scale) k^T = scale (q k^T) up to rounding).
  const fold = !(Math.fround(config.scale) > 0);
  const qIn = fold ? g.node('Mul', [q, g.constFloat([config.scale], [], 'scale')], {}, 'q_scaled') : q;
  const attrs = {
    q_num_heads: { int: H },
    kv_num_heads: { int: H },
    is_causal: { int: config.causal ? 1 : 0 },
    scale: { float: fold ? 1 : config.scale },
    ...(options.attentionWeights ? { qk_matmul_output_mode: { int: 3 } } : {}),
  };
  const mergedName = trace('merged', config.outProj ? 'merged' : N.output);
  const outs = g.nodeN('Attention', [qIn, k, v], attrs, options.attentionWeights ? [mergedName, '', '', 'qk_softmax'] : [mergedName]);
  const merged = outs[0]!;
  const out = projectOutput(g, config, weights, merged, N.output);
  g.output(N.output, out, DataType.FLOAT, [B, T, dOut], 'attention output [batch, tokens, dOut]');
  if (options.attentionWeights) {
    // ONNX's shape inference for qk_matmul_output records a dynamic key length as a fixed 0
    // (it reads dim_value of a symbolic dim), which runtimes then report as a shape mismatch.
    // A Reshape to the shape computed from x restores [batch, heads, tokens, tokens].
    const shape = g.node('Concat', [dimsOf(g, x, 0, 1, 'batch_1d'), g.constInt64([H], [1], 'heads_1d'), dimsOf(g, x, 1, 2, 'tokens_1d'), dimsOf(g, x, 1, 2, 'tokens_1d')], { axis: { int: 0 } }, 'weights_shape');
    const probs = g.node('Reshape', [outs[3]!, shape], {}, N.attentionWeights);
    g.output(N.attentionWeights, probs, DataType.FLOAT, [B, H, T, T], 'softmax weights per head [batch, heads, tokens, tokens]');
  }
  if (options.traceOutputs) {
    g.output(TRACE_OUTPUTS.qkv, proj, DataType.FLOAT, [B, T, 3 * dOut]);
    g.output(TRACE_OUTPUTS.q, q, DataType.FLOAT, [B, T, dOut]);
    g.output(TRACE_OUTPUTS.k, k, DataType.FLOAT, [B, T, dOut]);
    g.output(TRACE_OUTPUTS.v, v, DataType.FLOAT, [B, T, dOut]);
    g.output(TRACE_OUTPUTS.merged, merged, DataType.FLOAT, [B, T, dOut]);
  }
}
