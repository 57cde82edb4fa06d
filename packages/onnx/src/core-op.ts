import { MhaError, MhaErrorCode } from '@mha/core';
import { attentionOpCore, decomposedCore } from './core-graph.js';
import { FLAVOURS, OPSETS, type OnnxFlavour } from './export.js';
import { encodeModel, GraphBuilder, type Dim } from './graph-builder.js';
import { CORE_OP_NAMES as N } from './names.js';
import { DataType } from './proto.js';

/** The mask input of a core-op graph: its kind and rank (its dims stay symbolic). */
export interface MaskSpec {
  /** `bool`: true = may attend; `additive`: float32 added to the scores (`-Infinity` masks). */
  readonly kind: 'bool' | 'additive';
  /** 2 (`[q_tokens, kv_tokens]`) to 4 (`[batch, q_heads, q_tokens, kv_tokens]`), broadcast numpy-style. */
  readonly rank: 2 | 3 | 4;
}

/**
 * Options of {@link exportAttentionOp}: everything that is fixed in the graph. Shapes are not among
 * them: every dimension is symbolic, so one graph serves every batch, head count, length and head size.
 */
export interface AttentionOpExportOptions {
  /** Default `'decomposed'`. */
  flavour?: OnnxFlavour | undefined;
  /** As for {@link exportOnnx}. */
  opset?: number | undefined;
  /** Query `i` attends keys `j <= i` (top-left aligned when the lengths differ). */
  causal?: boolean | undefined;
  /** Score scale; `undefined`/`null` = `1/sqrt(qk_head_dim)`, computed by the graph from the input. */
  scale?: number | null | undefined;
  /** `softcap * tanh(scores / softcap)` when > 0. */
  softcap?: number | undefined;
  /** Add the `attn_mask` input. */
  mask?: MaskSpec | undefined;
  /** Add the `weights` output `[batch, q_heads, q_tokens, kv_tokens]`. */
  weights?: boolean | undefined;
  /**
   * Add `past_key`/`past_value` inputs and `present_key`/`present_value` outputs (a KV cache, as ONNX
   * `Attention` defines them): keys and weights then span `past_tokens + kv_tokens`, a mask's key axis too,
   * and causal is bottom-right aligned (query `i` sees keys `j <= i + past_tokens`). A decoder step feeds
   * the previous step's present outputs back as the past inputs.
   */
  past?: boolean | undefined;
}

/** Validated {@link AttentionOpExportOptions}. */
export interface ResolvedAttentionOpOptions {
  readonly flavour: OnnxFlavour;
  readonly opset: number;
  readonly causal: boolean;
  readonly scale: number | undefined;
  readonly softcap: number;
  readonly mask: MaskSpec | undefined;
  readonly weights: boolean;
  readonly past: boolean;
}

function bad(field: string, value: unknown, detail: string): MhaError {
  return new MhaError(MhaErrorCode.InvalidOption, `options.${field}`, value, detail);
}

const KNOWN = ['flavour', 'opset', 'causal', 'scale', 'softcap', 'mask', 'weights', 'past'];

/** Checks core-op export options and fills in defaults. */
export function resolveAttentionOpOptions(options: AttentionOpExportOptions | undefined): ResolvedAttentionOpOptions {
  const o = options ?? {};
  for (const key of Object.keys(o)) {
    if (!KNOWN.includes(key)) throw bad(key, (o as Record<string, unknown>)[key], `unknown option; expected ${KNOWN.join(', ')}`);
  }
  for (const key of ['causal', 'weights', 'past'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, `options.${key}`, o[key], 'must be a boolean');
  }
  const flavour = o.flavour ?? 'decomposed';
  if (!FLAVOURS.includes(flavour)) throw bad('flavour', flavour, `expected ${FLAVOURS.join(' or ')}`);
  const range = OPSETS[flavour];
  const opset = o.opset ?? range.default;
  if (!Number.isInteger(opset) || opset < range.min || opset > range.max) throw bad('opset', opset, `the ${flavour} flavour is written at opset ${range.min}..${range.max}`);
  if (o.scale !== undefined && o.scale !== null && (typeof o.scale !== 'number' || !Number.isFinite(o.scale))) throw bad('scale', o.scale, 'must be finite');
  const softcap = o.softcap ?? 0;
  if (typeof softcap !== 'number' || !Number.isFinite(softcap) || softcap < 0) throw bad('softcap', softcap, 'must be a finite number >= 0 (0 = off)');
  if (o.mask !== undefined) {
    if (typeof o.mask !== 'object' || o.mask === null) throw bad('mask', o.mask, 'expected { kind, rank }');
    if (o.mask.kind !== 'bool' && o.mask.kind !== 'additive') throw bad('mask.kind', o.mask.kind, "expected 'bool' or 'additive'");
    if (![2, 3, 4].includes(o.mask.rank)) throw bad('mask.rank', o.mask.rank, 'expected 2, 3 or 4');
  }
  return { flavour, opset, causal: o.causal ?? false, scale: o.scale ?? undefined, softcap, mask: o.mask, weights: o.weights ?? false, past: o.past ?? false };
}

const MASK_DIMS = ['mask_batch', 'mask_heads', 'mask_q_tokens', 'mask_kv_tokens'];

/**
 * Exports the attention core op alone as an ONNX model: inputs `q [batch, q_heads, q_tokens,
 * qk_head_dim]`, `k [batch, kv_heads, kv_tokens, qk_head_dim]`, `v [batch, kv_heads, kv_tokens,
 * v_head_dim]` (and `attn_mask` with `mask`); outputs `output [batch, q_heads, q_tokens, v_head_dim]`
 * (and `weights`). Grouped-query attention (`q_heads` a multiple of `kv_heads`) and cross-attention
 * work in both flavours; a query row whose keys are all masked gives zeros, never NaN.
 *
 * @example
 * const bytes = exportAttentionOp({ flavour: 'attention-op', causal: true, weights: true });
 */
export function exportAttentionOp(options?: AttentionOpExportOptions): Uint8Array {
  const o = resolveAttentionOpOptions(options);
  const g = new GraphBuilder();
  const q = g.input(N.q, DataType.FLOAT, ['batch', 'q_heads', 'q_tokens', 'qk_head_dim']);
  const k = g.input(N.k, DataType.FLOAT, ['batch', 'kv_heads', 'kv_tokens', 'qk_head_dim']);
  const v = g.input(N.v, DataType.FLOAT, ['batch', 'kv_heads', 'kv_tokens', 'v_head_dim']);
  const mask = o.mask ? g.input(N.mask, o.mask.kind === 'bool' ? DataType.BOOL : DataType.FLOAT, MASK_DIMS.slice(4 - o.mask.rank)) : undefined;
  const past = o.past
    ? { key: g.input(N.pastKey, DataType.FLOAT, ['batch', 'kv_heads', 'past_tokens', 'qk_head_dim']), value: g.input(N.pastValue, DataType.FLOAT, ['batch', 'kv_heads', 'past_tokens', 'v_head_dim']) }
    : undefined;
  const r = o.flavour === 'attention-op' ? attentionOpCore(g, o, q, k, v, mask, past) : decomposedCore(g, o, q, k, v, mask, past);
  const keys = past ? 'total_tokens' : 'kv_tokens';
  g.output(N.output, r.output, DataType.FLOAT, ['batch', 'q_heads', 'q_tokens', 'v_head_dim']);
  if (r.weights) g.output(N.weights, r.weights, DataType.FLOAT, ['batch', 'q_heads', 'q_tokens', keys]);
  if (r.present) {
    g.output(N.presentKey, r.present.key, DataType.FLOAT, ['batch', 'kv_heads', keys, 'qk_head_dim']);
    g.output(N.presentValue, r.present.value, DataType.FLOAT, ['batch', 'kv_heads', keys, 'v_head_dim']);
  }
  const doc = `Attention core op (causal=${o.causal}, past=${o.past}, scale=${o.scale ?? '1/sqrt(qk_head_dim)'}, softcap=${o.softcap}, mask=${o.mask ? `${o.mask.kind} rank ${o.mask.rank}` : 'none'}), ${o.flavour} flavour, exported by @mha/onnx.`;
  return encodeModel(g.graph(`attention_${o.flavour.replace('-', '_')}`, doc), {
    irVersion: OPSETS[o.flavour].irVersion,
    opset: o.opset,
    doc,
    metadata: { 'mha.format': 'mha-onnx/1', 'mha.flavour': o.flavour, 'mha.graph': 'attention-core-op' },
  });
}
