import type { MhaWeights, ResolvedMhaConfig } from '@mha/core';
import type { MaskSpec } from './core-op.js';
import { clearOfSentinel, decomposedCore, positiveInFloat32 } from './core-graph.js';
import { causalKeep, dimOf, dimsOf } from './decomposed-ops.js';
import type { GraphBuilder } from './graph-builder.js';
import { MODULE_NAMES as N } from './names.js';
import { projectOutput } from './projection.js';
import { DataType } from './proto.js';

/** Module features a graph carries beyond plain self-attention (SPEC.md, "Module features" and "Module KV cache"). */
export interface ModuleFeatures {
  /** Separate `key`/`value` inputs. */
  readonly cross: boolean;
  /** The `attn_mask` input. */
  readonly mask: MaskSpec | undefined;
  /** The `key_padding_mask` input. */
  readonly keyPaddingMask: 'bool' | 'additive' | undefined;
  /** Causal alignment when the query and key lengths differ (cross-attention only; self-attention has Tq = Tk). */
  readonly causalAlign: 'top-left' | 'bottom-right';
  /** Decoder step: `past_key`/`past_value` in, `present_key`/`present_value` out, bottom-right causal. */
  readonly past: boolean;
  /** The `attention_weights` output. */
  readonly attentionWeights: boolean;
}

/** True when a graph needs {@link buildFeatureModule} rather than the plain self-attention builders. */
export function hasFeatures(config: ResolvedMhaConfig, f: ModuleFeatures): boolean {
  return config.kvHeads !== config.heads || f.cross || f.mask !== undefined || f.keyPaddingMask !== undefined || f.past;
}

/** `[a | b | c]` side by side: `[rows, sum(cols)]` from row-major `[rows, cols_i]` blocks. */
function concatColumns(rows: number, parts: readonly { data: Float32Array; cols: number }[]): Float32Array {
  const width = parts.reduce((s, p) => s + p.cols, 0);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let at = r * width;
    for (const p of parts) {
      out.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), at);
      at += p.cols;
    }
  }
  return out;
}

/** `x @ W (+ b)` with `W [inDim, outDim]` stored as initializer `<hint>_weight`. */
function linear(g: GraphBuilder, x: string, w: Float32Array, inDim: number, outDim: number, b: Float32Array | undefined, hint: string, out: string): string {
  const weight = g.floatInitializer(`${hint}_weight`, [inDim, outDim], w);
  if (!b) return g.node('MatMul', [x, weight], {}, out);
  const y = g.node('MatMul', [x, weight], {}, `${hint}_matmul`);
  return g.node('Add', [y, g.floatInitializer(`${hint}_bias`, [outDim], b)], {}, out);
}

/**
 * Q, K, V as `[B, T, width]`: one fused MatMul over `[wq | wk | wv]` (widths `dOut`, `kvHeads*headDim` x2)
 * and a Split for self-attention; three MatMuls over `x`, `key`, `value` for cross-attention.
 */
function project(g: GraphBuilder, config: ResolvedMhaConfig, w: Readonly<MhaWeights>, x: string, key: string, value: string, cross: boolean): [string, string, string] {
  const { dIn, dOut } = config;
  const dKv = config.kvHeads * config.headDim;
  if (cross) {
    return [
      linear(g, x, w.wq, dIn, dOut, w.bq, 'q', 'q'),
      linear(g, key, w.wk, config.kdim, dKv, w.bk, 'k', 'k'),
      linear(g, value, w.wv, config.vdim, dKv, w.bv, 'v', 'v'),
    ];
  }
  const fused = concatColumns(dIn, [
    { data: w.wq, cols: dOut },
    { data: w.wk, cols: dKv },
    { data: w.wv, cols: dKv },
  ]);
  const bias = config.qkvBias ? concatColumns(1, [
    { data: w.bq!, cols: dOut },
    { data: w.bk!, cols: dKv },
    { data: w.bv!, cols: dKv },
  ]) : undefined;
  const qkv = linear(g, x, fused, dIn, dOut + 2 * dKv, bias, 'qkv', 'qkv_proj');
  // Split with the sizes as an input: valid unchanged from opset 13 to 24.
  return g.nodeN('Split', [qkv, g.constInt64([dOut, dKv, dKv], [3], 'qkv_split')], { axis: { int: 2 } }, ['q', 'k', 'v']) as [string, string, string];
}

/**
 * The one mask the attention sees, combined in the graph as SPEC.md "Module features" combines them
 * (and as `combinedMask` in `@mha/core` does): every part bool -> AND (bool); otherwise additive, the
 * additive parts summed in float32 (attention mask first) and every key a bool part blocks set to `-Infinity`.
 */
function combineMasks(g: GraphBuilder, parts: { mask?: { tensor: string; kind: 'bool' | 'additive' }; keyPadding?: { tensor: string; kind: 'bool' | 'additive' }; keep?: string }): { tensor: string; kind: 'bool' | 'additive' } | undefined {
  const keyPadding = parts.keyPadding && { ...parts.keyPadding, tensor: g.node('Unsqueeze', [parts.keyPadding.tensor, g.constInt64([1, 2], [2], 'axes12')], {}, 'key_padding_4d') };
  const bools = [parts.keep, parts.mask?.kind === 'bool' ? parts.mask.tensor : undefined, keyPadding?.kind === 'bool' ? keyPadding.tensor : undefined].filter((t): t is string => t !== undefined);
  const adds = [parts.mask?.kind === 'additive' ? parts.mask.tensor : undefined, keyPadding?.kind === 'additive' ? keyPadding.tensor : undefined].filter((t): t is string => t !== undefined);
  const keep = bools.length === 0 ? undefined : bools.reduce((a, b) => g.node('And', [a, b], {}, 'keep'));
  if (adds.length === 0) return keep === undefined ? undefined : { tensor: keep, kind: 'bool' };
  const add = adds.reduce((a, b) => g.node('Add', [a, b], {}, 'mask_sum'));
  if (keep === undefined) return { tensor: add, kind: 'additive' };
  return { tensor: g.node('Where', [keep, add, g.constFloat([-Infinity], [], 'neg_inf')], {}, 'combined_mask'), kind: 'additive' };
}

/**
 * A module graph with the features of {@link ModuleFeatures}, in either flavour: projections (fused for
 * self-attention, separate for cross-attention), the masks combined in the graph, then
 * - `attention-op`: the standard ONNX `Attention` operator in its 3D layout, heads grouped by
 *   `q_num_heads`/`kv_num_heads`, `past_key`/`past_value` and `present_key`/`present_value` as its own
 *   inputs and outputs;
 * - `decomposed`: heads split by Reshape/Transpose and the primitive-op core of `exportAttentionOp`
 *   (grouped-query by broadcasting each KV head over its query heads, a fully masked row -> zeros).
 * Then merge and the output projection.
 */
export function buildFeatureModule(g: GraphBuilder, config: ResolvedMhaConfig, w: Readonly<MhaWeights>, flavour: 'attention-op' | 'decomposed', f: ModuleFeatures): void {
  const { heads: H, kvHeads: Hkv, headDim: dh, dOut } = config;
  const B = N.batchDim;
  const T = N.tokensDim;
  const Tk = f.cross ? N.kvTokensDim : T;
  const x = g.input(N.input, DataType.FLOAT, [B, T, config.dIn], f.past ? 'new tokens [batch, tokens, dIn]' : 'query input [batch, tokens, dIn]');
  const key = f.cross ? g.input(N.key, DataType.FLOAT, [B, Tk, config.kdim], 'key input [batch, kv_tokens, kdim]') : x;
  const value = f.cross ? g.input(N.value, DataType.FLOAT, [B, Tk, config.vdim], 'value input [batch, kv_tokens, vdim]') : x;
  const maskIn = f.mask && {
    tensor: g.input(N.mask, f.mask.kind === 'bool' ? DataType.BOOL : DataType.FLOAT, ['mask_batch', 'mask_heads', 'mask_tokens', 'mask_kv_tokens'].slice(4 - f.mask.rank), 'attention mask, bool (true = attend) or additive, broadcast to [batch, heads, tokens, kv_tokens]'),
    kind: f.mask.kind,
  };
  const kpmIn = f.keyPaddingMask && {
    tensor: g.input(N.keyPaddingMask, f.keyPaddingMask === 'bool' ? DataType.BOOL : DataType.FLOAT, ['key_padding_batch', 'key_padding_kv_tokens'], 'key-padding mask [batch, kv_tokens], bool (true = a real key) or additive'),
    kind: f.keyPaddingMask,
  };
  const past = f.past
    ? {
        key: g.input(N.pastKey, DataType.FLOAT, [B, Hkv, N.pastTokensDim, dh], 'cached keys [batch, kvHeads, past_tokens, headDim]'),
        value: g.input(N.pastValue, DataType.FLOAT, [B, Hkv, N.pastTokensDim, dh], 'cached values [batch, kvHeads, past_tokens, headDim]'),
      }
    : undefined;
  const [q, k, v] = project(g, config, w, x, key, value, f.cross);
  // Bottom-right causal without a past (query i sees keys j <= i + Tk - Tq) is not the operator's
  // is_causal (top-left without a past): it becomes a mask part. Self-attention has Tq = Tk, where both agree.
  const bottomRight = config.causal && f.cross && f.causalAlign === 'bottom-right';
  const offset = bottomRight ? g.node('Sub', [dimOf(g, key, 1, 'kv_tokens_count'), dimOf(g, x, 1, 'tokens_count')], {}, 'causal_offset') : undefined;
  const mergedName = config.outProj ? 'merged' : N.output;
  let merged: string;
  let weights: string | undefined;
  let present: { key: string; value: string } | undefined;
  if (flavour === 'attention-op') {
    const keep = offset ? causalKeep(g, dimOf(g, x, 1, 'tokens_count'), dimOf(g, key, 1, 'kv_tokens_count'), offset) : undefined;
    const mask = combineMasks(g, { mask: maskIn, keyPadding: kpmIn, keep });
    // onnxruntime refuses a float32 scale <= 0: fold it into q, with the operator's scale at 1.
    const fold = !positiveInFloat32(config.scale);
    const qIn = fold ? g.node('Mul', [q, g.constFloat([config.scale], [], 'scale')], {}, 'q_scaled') : q;
    const attrs = {
      q_num_heads: { int: H },
      kv_num_heads: { int: Hkv },
      is_causal: { int: config.causal && !bottomRight ? 1 : 0 },
      scale: { float: fold ? 1 : config.scale },
      ...(f.attentionWeights ? { qk_matmul_output_mode: { int: 3 } } : {}),
    };
    const inputs = [qIn, k, v];
    if (mask) {
      let m = mask.kind === 'additive' ? clearOfSentinel(g, mask.tensor) : mask.tensor;
      // onnxruntime reads a mask's last two dims as [q_tokens, kv_tokens] literally: broadcast them first.
      const lastTwo = g.node('Concat', [dimsOf(g, x, 1, 2, 'tokens_1d'), dimsOf(g, key, 1, 2, 'kv_tokens_1d')], { axis: { int: 0 } }, 'mask_tokens_shape');
      m = g.node('Expand', [m, lastTwo], {}, 'attn_mask_expanded');
      inputs.push(m);
    }
    if (past) inputs.push(...(mask ? [] : ['']), past.key, past.value);
    const names = [mergedName, past ? N.presentKey : '', past ? N.presentValue : '', f.attentionWeights ? 'qk_softmax' : ''];
    while (names[names.length - 1] === '') names.pop();
    const outs = g.nodeN('Attention', inputs, attrs, names);
    merged = outs[0]!;
    if (past) present = { key: outs[1]!, value: outs[2]! };
    if (f.attentionWeights) {
      // ONNX shape inference records qk_matmul_output's dynamic key length as 0: restore the computed shape.
      const shape = g.node('Concat', [dimsOf(g, x, 0, 1, 'batch_1d'), g.constInt64([H], [1], 'heads_1d'), dimsOf(g, x, 1, 2, 'tokens_1d'), dimsOf(g, key, 1, 2, 'kv_tokens_1d')], { axis: { int: 0 } }, 'weights_shape');
      weights = g.node('Reshape', [outs[3]!, shape], {}, N.attentionWeights);
    }
  } else {
    const mask = combineMasks(g, { mask: maskIn, keyPadding: kpmIn });
    const heads = (t: string, n: number, hint: string) =>
      g.node('Transpose', [g.node('Reshape', [t, g.constInt64([0, 0, n, dh], [4], `heads_shape_${n}`)], {}, `${hint}_split`)], { perm: { ints: [0, 2, 1, 3] } }, `${hint}_heads`);
    const r = decomposedCore(
      g,
      { causal: config.causal, scale: config.scale, softcap: 0, mask: mask && { kind: mask.kind, rank: 4 }, weights: f.attentionWeights },
      heads(q, H, 'q'),
      heads(k, Hkv, 'k'),
      heads(v, Hkv, 'v'),
      mask?.tensor,
      past,
      offset,
      { output: 'context', weights: N.attentionWeights, presentKey: N.presentKey, presentValue: N.presentValue },
    );
    const contextT = g.node('Transpose', [r.output], { perm: { ints: [0, 2, 1, 3] } }, 'context_transposed');
    merged = g.node('Reshape', [contextT, g.constInt64([0, 0, dOut], [3], 'merged_shape')], {}, mergedName);
    weights = r.weights;
    present = r.present;
  }
  const out = projectOutput(g, config, w, merged, N.output);
  g.output(N.output, out, DataType.FLOAT, [B, T, dOut], 'attention output [batch, tokens, dOut]');
  if (weights) g.output(N.attentionWeights, weights, DataType.FLOAT, [B, H, T, Tk], 'softmax weights per head [batch, heads, tokens, kv_tokens]');
  if (present) {
    g.output(N.presentKey, present.key, DataType.FLOAT, [B, Hkv, N.totalTokensDim, dh], 'concat(past_key, new keys) [batch, kvHeads, past_tokens + tokens, headDim]');
    g.output(N.presentValue, present.value, DataType.FLOAT, [B, Hkv, N.totalTokensDim, dh], 'concat(past_value, new values) [batch, kvHeads, past_tokens + tokens, headDim]');
  }
}
