import type { MhaWeights, ResolvedMhaConfig } from '@mha/core';
import { causalKeep, dimOf, maskOut, softmaxLastAxis } from './decomposed-ops.js';
import type { GraphBuilder } from './graph-builder.js';
import type { ModuleGraphOptions } from './module-options.js';
import { MODULE_NAMES as N, TRACE_OUTPUTS } from './names.js';
import { projectOutput, projectQkv } from './projection.js';
import { DataType } from './proto.js';

/**
 * The module from primitive ops (opset 13..17): fused QKV MatMul, Reshape/Transpose into heads,
 * scaled `q k^T`, an in-graph causal mask sized from the input, Softmax, `@ v`, merge, out projection.
 */
export function buildDecomposedModule(g: GraphBuilder, config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, options: ModuleGraphOptions): void {
  const { heads: H, headDim: dh, dOut } = config;
  const B = N.batchDim;
  const T = N.tokensDim;
  // Tensors that become outputs get their public names at creation: an Identity to rename them
  // could cost the runtime a copy of a [B, H, T, T] tensor.
  const trace = (step: keyof typeof TRACE_OUTPUTS, plain: string) => (options.traceOutputs ? TRACE_OUTPUTS[step] : plain);
  const x = g.input(N.input, DataType.FLOAT, [B, T, config.dIn], 'input tokens [batch, tokens, dIn]');
  const proj = projectQkv(g, config, weights, x, 'qkv_proj');
  // Reshape's 0 copies the input's dim, so batch and tokens stay dynamic.
  const qkv = g.node('Reshape', [proj, g.constInt64([0, 0, 3, H, dh], [5], 'qkv_shape')], {}, trace('qkv', 'qkv'));
  const qkvHeads = g.node('Transpose', [qkv], { perm: { ints: [2, 0, 3, 1, 4] } }, 'qkv_heads');
  const [q, k, v] = (['q', 'k', 'v'] as const).map((step, i) =>
    g.node('Gather', [qkvHeads, g.constInt64([i], [], `index${i}`)], { axis: { int: 0 } }, trace(step, step)),
  ) as [string, string, string];
  const kT = g.node('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } }, 'k_transposed');
  const qk = g.node('MatMul', [q, kT], {}, 'qk');
  // Scaled after the product, in the reference's order of operations.
  const scores = g.node('Mul', [qk, g.constFloat([config.scale], [], 'scale')], {}, trace('scores', 'scores'));
  let masked = scores;
  if (config.causal) {
    const tokens = dimOf(g, x, 1, 'tokens_count');
    masked = maskOut(g, scores, causalKeep(g, tokens, tokens), 'masked_scores');
  }
  const probs = softmaxLastAxis(g, masked, false, options.attentionWeights ? N.attentionWeights : 'weights');
  const context = g.node('MatMul', [probs, v], {}, trace('context', 'context'));
  const contextT = g.node('Transpose', [context], { perm: { ints: [0, 2, 1, 3] } }, 'context_transposed');
  const merged = g.node('Reshape', [contextT, g.constInt64([0, 0, dOut], [3], 'merged_shape')], {}, trace('merged', config.outProj ? 'merged' : N.output));
  const out = projectOutput(g, config, weights, merged, N.output);
  g.output(N.output, out, DataType.FLOAT, [B, T, dOut], 'attention output [batch, tokens, dOut]');
  if (options.attentionWeights) g.output(N.attentionWeights, probs, DataType.FLOAT, [B, H, T, T], 'softmax weights per head [batch, heads, tokens, tokens]');
  if (options.traceOutputs) {
    const perHead = [B, H, T, dh];
    g.output(TRACE_OUTPUTS.qkv, qkv, DataType.FLOAT, [B, T, 3, H, dh]);
    g.output(TRACE_OUTPUTS.q, q, DataType.FLOAT, perHead);
    g.output(TRACE_OUTPUTS.k, k, DataType.FLOAT, perHead);
    g.output(TRACE_OUTPUTS.v, v, DataType.FLOAT, perHead);
    g.output(TRACE_OUTPUTS.scores, scores, DataType.FLOAT, [B, H, T, T]);
    g.output(TRACE_OUTPUTS.context, context, DataType.FLOAT, perHead);
    g.output(TRACE_OUTPUTS.merged, merged, DataType.FLOAT, [B, T, dOut]);
  }
}
