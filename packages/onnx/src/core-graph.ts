/**
 * Graph fragments of the attention core (Attention operator or primitive ops), shared by the core-op
 * export and the module-feature export. Internal: kept out of the public declarations so they do not
 * reach `GraphBuilder` and the ONNX protobuf types.
 */
import type { ResolvedAttentionOpOptions } from './core-op.js';
import { causalKeep, dimOf, dimsOf, maskOut, softmaxLastAxis } from './decomposed-ops.js';
import type { GraphBuilder } from './graph-builder.js';
import { CORE_OP_NAMES as N } from './names.js';
import { DataType } from './proto.js';
/** `t + (t - t)`: `t` where finite, NaN where `t` is +-Infinity (inf - inf = NaN). */
function nanIfNotFinite(g: GraphBuilder, t: string, hint: string): string {
  return g.node('Add', [t, g.node('Sub', [t, t], {}, `${hint}_zero`)], {}, hint);
}

/** `[batch, q_heads, q_tokens, kv_tokens]` computed from q and k, as an int64 vector. */
function scoresShape(g: GraphBuilder, q: string, k: string): string {
  return g.node('Concat', [dimsOf(g, q, 0, 3, 'q_dims_bhs'), dimsOf(g, k, 2, 3, 'kv_tokens_1d')], { axis: { int: 0 } }, 'scores_shape');
}

/** `-2^127`: the float32 values at or below it form the top binade, spaced `2^104` apart. */
const TOP_BINADE = -(2 ** 127);
/** One float32 ulp in the top binade. */
const TOP_ULP = 2 ** 104;

/**
 * onnxruntime's CPU `Attention` kernel uses float32 `lowest` (-3.4028234663852886e38) as its own
 * "masked" sentinel (bool masks and causal positions become it), and a row whose maximum is that
 * value comes out as zeros (onnxruntime 1.30), so a user's finite additive mask of exactly `lowest`
 * would be read as masked.
 * Moving every finite mask value in the top binade up by one ulp (exact in float32, and order
 * preserving among those values) keeps them clear of the sentinel. The result is unchanged: a score
 * added to such a value is lost to rounding either way, and keys at that level only get weight when
 * every key of the row is there, where ties stay ties. `-Infinity` stays `-Infinity`.
 */
export function clearOfSentinel(g: GraphBuilder, mask: string): string {
  const low = g.node('LessOrEqual', [mask, g.constFloat([TOP_BINADE], [], 'top_binade')], {}, 'mask_in_top_binade');
  const lifted = g.node('Add', [mask, g.constFloat([TOP_ULP], [], 'top_ulp')], {}, 'mask_lifted');
  return g.node('Where', [low, lifted, mask], {}, 'attn_mask_clear');
}

/** True when `scale` is a valid `Attention` attribute: onnxruntime refuses a float32 scale <= 0. */
export function positiveInFloat32(scale: number): boolean {
  return Math.fround(scale) > 0;
}

/** Tensors a core graph fragment produces. */
export interface CoreOutputs {
  output: string;
  weights?: string;
  present?: { key: string; value: string };
}

/** Names the decomposed core gives the tensors that may become graph outputs. */
export interface CoreNames {
  readonly output: string;
  readonly weights: string;
  readonly presentKey: string;
  readonly presentValue: string;
}

export function attentionOpCore(g: GraphBuilder, o: ResolvedAttentionOpOptions, q: string, k: string, v: string, mask: string | undefined, past?: { key: string; value: string }): CoreOutputs {
  // A scale the operator refuses (0, -0, negative, or rounding to 0 in float32) is folded into q
  // instead, with the operator's scale at 1: (q * scale) k^T equals scale (q k^T) up to rounding.
  const fold = o.scale !== undefined && !positiveInFloat32(o.scale);
  if (fold) q = g.node('Mul', [q, g.constFloat([o.scale!], [], 'scale')], {}, 'q_scaled');
  const attrs = {
    is_causal: { int: o.causal ? 1 : 0 },
    ...(o.scale !== undefined ? { scale: { float: fold ? 1 : o.scale } } : {}),
    ...(o.softcap > 0 ? { softcap: { float: o.softcap } } : {}),
    ...(o.weights ? { qk_matmul_output_mode: { int: 3 } } : {}),
  };
  let inputs = [q, k, v];
  if (mask) {
    if (o.mask?.kind === 'additive') mask = clearOfSentinel(g, mask);
    // The operator reads a mask's last two dims as [q_tokens, kv_tokens] exactly (a shorter key dim
    // means padding, not broadcasting), so broadcast those two numpy-style first. Leading dims of 1
    // are broadcast by the operator itself.
    // With a past, the key axis is past_tokens + kv_tokens.
    const keyDims = past ? g.node('Add', [dimsOf(g, past.key, 2, 3, 'past_tokens_1d'), dimsOf(g, k, 2, 3, 'kv_tokens_1d')], {}, 'total_tokens_1d') : dimsOf(g, k, 2, 3, 'kv_tokens_1d');
    const lastTwo = g.node('Concat', [dimsOf(g, q, 2, 3, 'q_tokens_1d'), keyDims], { axis: { int: 0 } }, 'mask_tokens_shape');
    inputs = [q, k, v, g.node('Expand', [mask, lastTwo], {}, 'attn_mask_expanded')];
  }
  if (past) inputs = [...(inputs.length === 3 ? [...inputs, ''] : inputs), past.key, past.value];
  const names = [N.output, past ? N.presentKey : '', past ? N.presentValue : '', o.weights ? 'qk_softmax' : ''];
  while (names[names.length - 1] === '') names.pop();
  const outs = g.nodeN('Attention', inputs, attrs, names);
  const present = past ? { key: outs[1]!, value: outs[2]! } : undefined;
  if (!o.weights) return { output: outs[0]!, present };
  // See module-attention-op.ts: restores the symbolic kv_tokens dim that ONNX shape inference loses.
  const keysFor = past ? outs[1]! : k;
  return { output: outs[0]!, weights: g.node('Reshape', [outs[3]!, scoresShape(g, q, keysFor)], {}, N.weights), present };
}

/**
 * The core op from primitive ops on 4D `q [B, Hq, Tq, dk]`, `k`/`v [B, Hkv, Tk, d]`. `causalOffset`
 * (an int64 scalar tensor, may be negative) moves causal to `j <= i + offset` without a past (a module's
 * bottom-right alignment); rows it hides entirely come out as zeros. `names` are the names of the
 * tensors that may become graph outputs.
 */
export function decomposedCore(
  g: GraphBuilder,
  o: Pick<ResolvedAttentionOpOptions, 'causal' | 'scale' | 'softcap' | 'mask' | 'weights'>,
  q: string,
  k: string,
  v: string,
  mask: string | undefined,
  past?: { key: string; value: string },
  causalOffset?: string,
  names: CoreNames = N,
): CoreOutputs {
  let present: CoreOutputs['present'];
  let offset = causalOffset;
  if (past) {
    k = g.node('Concat', [past.key, k], { axis: { int: 2 } }, names.presentKey);
    v = g.node('Concat', [past.value, v], { axis: { int: 2 } }, names.presentValue);
    present = { key: k, value: v };
    offset = dimOf(g, past.key, 2, 'past_tokens_count');
  }
  // Grouped-query: view q as [batch, kv_heads, group, q_tokens, d] and k, v as [batch, kv_heads, 1,
  // kv_tokens, d]; MatMul broadcasts the group axis, so query head h meets KV head floor(h / group).
  const grouped = g.node('Concat', [dimsOf(g, k, 0, 2, 'kv_dims_bh'), g.constInt64([-1]), dimsOf(g, q, 2, 4, 'q_dims_sd')], { axis: { int: 0 } }, 'q_grouped_shape');
  const q5 = g.node('Reshape', [q, grouped], {}, 'q_grouped');
  const axes2 = g.constInt64([2], [1], 'axes2');
  const k5 = g.node('Unsqueeze', [k, axes2], {}, 'k_grouped');
  const v5 = g.node('Unsqueeze', [v, axes2], {}, 'v_grouped');
  const kT = g.node('Transpose', [k5], { perm: { ints: [0, 1, 2, 4, 3] } }, 'k_transposed');
  const qk5 = g.node('MatMul', [q5, kT], {}, 'qk_grouped');
  const qk = g.node('Reshape', [qk5, scoresShape(g, q, k)], {}, 'qk');
  let scale: string;
  if (o.scale !== undefined) scale = g.constFloat([o.scale], [], 'scale');
  else {
    const dk = g.node('Cast', [dimOf(g, q, 3, 'qk_head_dim')], { to: { int: DataType.FLOAT } }, 'qk_head_dim_f');
    scale = g.node('Reciprocal', [g.node('Sqrt', [dk], {}, 'sqrt_head_dim')], {}, 'scale');
  }
  // Where a non-finite product would otherwise be hidden and come out as a finite wrong number
  // (tanh(+-inf) = +-1 under softcap; an all -inf row read as fully masked under a user mask), it is
  // turned into NaN so the caller sees the float32 overflow.
  let s = g.node('Mul', [o.softcap > 0 ? nanIfNotFinite(g, qk, 'qk_checked') : qk, scale], {}, 'scores');
  if (o.softcap === 0 && mask) s = nanIfNotFinite(g, s, 'scores_checked');
  if (o.softcap > 0) {
    const cap = g.constFloat([o.softcap], [], 'softcap');
    const tanh = g.node('Tanh', [g.node('Div', [s, cap], {}, 'scores_over_cap')], {}, 'tanh_scores');
    s = g.node('Mul', [tanh, cap], {}, 'capped_scores');
  }
  let keep: string | undefined;
  if (o.causal) keep = causalKeep(g, dimOf(g, q, 2, 'q_tokens_count'), dimOf(g, k, 2, 'kv_tokens_count'), offset);
  if (mask && o.mask?.kind === 'additive') s = g.node('Add', [s, mask], {}, 'biased_scores');
  if (mask && o.mask?.kind === 'bool') keep = keep ? g.node('And', [keep, mask], {}, 'keep') : mask;
  if (keep) s = maskOut(g, s, keep, 'masked_scores');
  // Only a user mask or a causal offset that can be negative can hide every key of a row; top-left causal
  // and a past (offset >= 0) always leave key 0.
  const probs = softmaxLastAxis(g, s, mask !== undefined || causalOffset !== undefined, o.weights ? names.weights : 'probs');
  const probs5 = g.node('Reshape', [probs, g.node('Shape', [qk5], {}, 'qk_grouped_shape')], {}, 'probs_grouped');
  const out5 = g.node('MatMul', [probs5, v5], {}, 'output_grouped');
  const outShape = g.node('Concat', [dimsOf(g, q, 0, 3, 'q_dims_bhs'), dimsOf(g, v, 3, 4, 'v_head_dim_1d')], { axis: { int: 0 } }, 'output_shape');
  const output = g.node('Reshape', [out5, outShape], {}, names.output);
  return o.weights ? { output, weights: probs, present } : { output, present };
}
