import { configToJSON, MhaError, MhaErrorCode, parameterCount, resolveConfig, validateWeights, type MhaConfig, type MhaWeights, type ResolvedMhaConfig } from '@mha/core';
import type { MaskSpec } from './core-op.js';
import { encodeModel, GraphBuilder } from './graph-builder.js';
import { buildAttentionOpModule } from './module-attention-op.js';
import { buildDecomposedModule } from './module-decomposed.js';
import { buildFeatureModule, hasFeatures, type ModuleFeatures } from './module-features.js';

/**
 * The two graph flavours:
 * - `attention-op`: MatMul/Add projections around the standard ONNX `Attention` operator (opset 23);
 * - `decomposed`: the same computation from primitive ops at opset 13..17, for older runtimes and
 *   onnxruntime-web.
 */
export type OnnxFlavour = 'attention-op' | 'decomposed';

/** Both flavours, in a stable order. */
export const FLAVOURS: readonly OnnxFlavour[] = ['attention-op', 'decomposed'];

/** Options of {@link exportOnnx}. */
export interface ExportOptions {
  /** Graph flavour. Default `'decomposed'` (runs on the widest range of runtimes). */
  flavour?: OnnxFlavour | undefined;
  /** Opset: 13..17 for `decomposed` (default 17); 23 for `attention-op` (the default and only value). */
  opset?: number | undefined;
  /** Add the `attention_weights` output `[batch, heads, tokens, tokens]`. Default `false`. */
  attentionWeights?: boolean | undefined;
  /** Add the diagnostic `trace_*` outputs (see `TRACE_OUTPUTS`). Default `false`; plain self-attention graphs only. */
  traceOutputs?: boolean | undefined;
  /**
   * Cross-attention: separate `key [batch, kv_tokens, kdim]` and `value [batch, kv_tokens, vdim]` inputs
   * (`forward(x, { key, value })`). Default: `true` when `config.kdim` or `config.vdim` differs from `dIn`
   * (such a module has no self-attention form), else `false`.
   */
  crossAttention?: boolean | undefined;
  /**
   * Add the `attn_mask` input (`forward`'s `mask`): bool (true = attend, SPEC polarity) or additive
   * (float32 added to the scores, `-Infinity` masks), of the given rank, broadcast right-aligned to
   * `[batch, heads, tokens, kv_tokens]`.
   */
  mask?: MaskSpec | undefined;
  /** Add the `key_padding_mask [batch, kv_tokens]` input (`forward`'s `keyPaddingMask`): `'bool'` (true = a real key) or `'additive'`. */
  keyPaddingMask?: 'bool' | 'additive' | undefined;
  /**
   * Causal alignment of a causal cross-attention graph (`forward`'s `causalAlign`): `'top-left'` (default;
   * query `i` sees keys `0..i`) or `'bottom-right'` (keys `0..i + kv_tokens - tokens`). Self-attention has
   * `tokens = kv_tokens`, where both are the same.
   */
  causalAlign?: 'top-left' | 'bottom-right' | undefined;
  /**
   * A decoder step (`forward(x_new, { cache })`): inputs `x [batch, tokens, dIn]` (the new tokens) and
   * `past_key`/`past_value [batch, kvHeads, past_tokens, headDim]`; outputs `output` and
   * `present_key`/`present_value [batch, kvHeads, past_tokens + tokens, headDim]` (always graph outputs:
   * feed them back as the next step's past). Causal is bottom-right (query `i` sees keys
   * `j <= i + past_tokens`). Needs a causal config; not with cross-attention, masks, `attentionWeights`
   * or trace outputs (as the module cache).
   */
  past?: boolean | undefined;
}

/** Opsets each flavour can be written at, and the IR version written with them. Opset 24 adds nothing the graphs use. */
export const OPSETS: Readonly<Record<OnnxFlavour, { readonly min: number; readonly max: number; readonly default: number; readonly irVersion: number }>> = {
  // Opset 13 is the oldest where Softmax works on one axis and Unsqueeze/ReduceSum take axes as an input.
  decomposed: { min: 13, max: 17, default: 17, irVersion: 8 },
  'attention-op': { min: 23, max: 24, default: 23, irVersion: 11 },
};

/** Protobuf cannot serialise a message of 2 GiB or more; weights beyond that would need external data. */
const MAX_MODEL_BYTES = 2 ** 31 - 1 - 2 ** 20;

/** Validated {@link ExportOptions} with defaults filled in. */
export interface ResolvedExportOptions {
  readonly flavour: OnnxFlavour;
  readonly opset: number;
  readonly attentionWeights: boolean;
  readonly traceOutputs: boolean;
  readonly crossAttention: boolean | undefined;
  readonly mask: MaskSpec | undefined;
  readonly keyPaddingMask: 'bool' | 'additive' | undefined;
  readonly causalAlign: 'top-left' | 'bottom-right';
  readonly past: boolean;
}

const KNOWN = ['flavour', 'opset', 'attentionWeights', 'traceOutputs', 'crossAttention', 'mask', 'keyPaddingMask', 'causalAlign', 'past'];

function bool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, `options.${key}`, v, 'must be a boolean');
  return v;
}

/** Checks export options and fills in defaults; bad values raise `MhaError` naming the option. */
export function resolveExportOptions(options: ExportOptions | undefined): ResolvedExportOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object');
  }
  const o = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.includes(key)) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, o[key], `unknown option; expected ${KNOWN.join(', ')}`);
  }
  const flavour = o.flavour ?? 'decomposed';
  if (!FLAVOURS.includes(flavour as OnnxFlavour)) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.flavour', flavour, `expected ${FLAVOURS.map((f) => `'${f}'`).join(' or ')}`);
  }
  const range = OPSETS[flavour as OnnxFlavour];
  const opset = o.opset ?? range.default;
  if (typeof opset !== 'number' || !Number.isInteger(opset) || opset < range.min || opset > range.max) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.opset', opset, `the ${String(flavour)} flavour is written at opset ${range.min === range.max ? range.min : `${range.min}..${range.max}`}`);
  }
  const crossAttention = o.crossAttention === undefined ? undefined : bool(o, 'crossAttention');
  const mask = o.mask as MaskSpec | undefined;
  if (mask !== undefined) {
    if (typeof mask !== 'object' || mask === null) throw new MhaError(MhaErrorCode.InvalidOption, 'options.mask', mask, 'expected { kind, rank }');
    if (mask.kind !== 'bool' && mask.kind !== 'additive') throw new MhaError(MhaErrorCode.InvalidOption, 'options.mask.kind', mask.kind, "expected 'bool' or 'additive'");
    if (![2, 3, 4].includes(mask.rank)) throw new MhaError(MhaErrorCode.InvalidOption, 'options.mask.rank', mask.rank, 'expected 2, 3 or 4');
  }
  const kpm = o.keyPaddingMask;
  if (kpm !== undefined && kpm !== 'bool' && kpm !== 'additive') throw new MhaError(MhaErrorCode.InvalidOption, 'options.keyPaddingMask', kpm, "expected 'bool' or 'additive'");
  const align = o.causalAlign;
  if (align !== undefined && align !== 'top-left' && align !== 'bottom-right') throw new MhaError(MhaErrorCode.InvalidOption, 'options.causalAlign', align, "expected 'top-left' or 'bottom-right'");
  const past = bool(o, 'past');
  const traceOutputs = bool(o, 'traceOutputs');
  const attentionWeights = bool(o, 'attentionWeights');
  if (past) {
    // What a decoder step cannot carry, as the module cache refuses it (SPEC.md, "Module KV cache").
    const refused: [string, unknown][] = [['crossAttention', crossAttention === true], ['mask', mask !== undefined], ['keyPaddingMask', kpm !== undefined], ['attentionWeights', attentionWeights], ['traceOutputs', traceOutputs], ['causalAlign', align === 'top-left']];
    for (const [key, bad] of refused) if (bad) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, o[key], 'not with options.past (a decoder step is causal self-attention, bottom-right aligned)');
  }
  return {
    flavour: flavour as OnnxFlavour,
    opset,
    attentionWeights,
    traceOutputs,
    crossAttention,
    mask: mask && { kind: mask.kind, rank: mask.rank },
    keyPaddingMask: kpm as 'bool' | 'additive' | undefined,
    causalAlign: (align ?? 'top-left') as 'top-left' | 'bottom-right',
    past,
  };
}

/** The features a module graph carries, checked against the config. */
function featuresOf(cfg: ResolvedMhaConfig, opts: ResolvedExportOptions): ModuleFeatures {
  const needsCross = cfg.kdim !== cfg.dIn || cfg.vdim !== cfg.dIn;
  if (opts.crossAttention === false && needsCross) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.crossAttention', false, `config.kdim (${cfg.kdim}) / vdim (${cfg.vdim}) differ from dIn (${cfg.dIn}): the module needs key and value inputs`);
  }
  const cross = opts.crossAttention ?? needsCross;
  if (opts.past && cross) throw new MhaError(MhaErrorCode.InvalidOption, 'options.past', true, `config.kdim/vdim differ from dIn: a decoder step is self-attention`);
  if (opts.past && !cfg.causal) throw new MhaError(MhaErrorCode.InvalidOption, 'options.past', true, 'a decoder step decodes causally: export a config with causal: true');
  const f: ModuleFeatures = { cross, mask: opts.mask, keyPaddingMask: opts.keyPaddingMask, causalAlign: opts.causalAlign, past: opts.past, attentionWeights: opts.attentionWeights };
  if (opts.traceOutputs && hasFeatures(cfg, f)) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.traceOutputs', true, 'trace outputs exist for plain self-attention graphs only (kvHeads = heads, no key/value or mask inputs)');
  }
  return f;
}

function describeConfig(c: ResolvedMhaConfig): string {
  // kvHeads/kdim/vdim only when set: a plain config keeps the description (and bytes) it always had.
  const extended = `${c.kvHeads !== c.heads ? ` kvHeads=${c.kvHeads}` : ''}${c.kdim !== c.dIn ? ` kdim=${c.kdim}` : ''}${c.vdim !== c.dIn ? ` vdim=${c.vdim}` : ''}`;
  return `dIn=${c.dIn} heads=${c.heads}${extended} headDim=${c.headDim} causal=${c.causal} qkvBias=${c.qkvBias} outProj=${c.outProj} outProjBias=${c.outProjBias} scale=${c.scale}`;
}

function describeFeatures(f: ModuleFeatures): string {
  const parts = [f.cross ? 'cross-attention' : 'self-attention'];
  if (f.mask) parts.push(`${f.mask.kind} attn_mask rank ${f.mask.rank}`);
  if (f.keyPaddingMask) parts.push(`${f.keyPaddingMask} key_padding_mask`);
  if (f.cross) parts.push(`causal ${f.causalAlign}`);
  if (f.past) parts.push('decoder step (past/present KV)');
  return parts.join(', ');
}

/**
 * Exports an MHA module as the bytes of a standard ONNX model (`ModelProto`), weights stored as
 * initializers, written with onnx-proto. Batch and sequence length are symbolic dims (`batch`,
 * `tokens`): one model serves every `B` and `T`. Input `x [batch, tokens, dIn]`, output
 * `output [batch, tokens, dOut]`, optionally `attention_weights [batch, heads, tokens, kv_tokens]`.
 * Module features are graph options (see {@link ExportOptions} and `MODULE_NAMES`): `kvHeads` and
 * `kdim`/`vdim` from the config, `key`/`value`, `attn_mask` and `key_padding_mask` inputs, bottom-right
 * causal, and `past: true` for a decoder step with `past_key`/`past_value` inputs and
 * `present_key`/`present_value` outputs. Config and weights are validated by `@mha/core` first.
 *
 * @example
 * const config = resolveConfig({ dIn: 8, dOut: 8, heads: 2, causal: true });
 * const bytes = exportOnnx(config, initWeights(config, 1), { flavour: 'decomposed' });
 * writeFileSync('mha.onnx', bytes);
 * // A grouped-query decoder step: feed present_key/present_value back as past_key/past_value.
 * const gqa = resolveConfig({ dIn: 64, heads: 8, kvHeads: 2, headDim: 8, causal: true });
 * const step = exportOnnx(gqa, initWeights(gqa, 1), { flavour: 'attention-op', past: true });
 */
export function exportOnnx(config: MhaConfig | ResolvedMhaConfig, weights: MhaWeights, options?: ExportOptions): Uint8Array {
  const cfg = resolveConfig(config);
  const w = validateWeights(cfg, weights);
  const opts = resolveExportOptions(options);
  const features = featuresOf(cfg, opts);
  if (parameterCount(cfg) * 4 > MAX_MODEL_BYTES) {
    throw new MhaError(MhaErrorCode.InvalidConfig, 'config', parameterCount(cfg), 'the weights exceed the 2 GiB protobuf limit of one ONNX file (external data is not supported)');
  }
  const g = new GraphBuilder();
  const graphOptions = { attentionWeights: opts.attentionWeights, traceOutputs: opts.traceOutputs };
  // Plain self-attention keeps its original graphs (the same bytes as before these features existed).
  const featured = hasFeatures(cfg, features);
  if (featured) buildFeatureModule(g, cfg, w, opts.flavour, features);
  else if (opts.flavour === 'decomposed') buildDecomposedModule(g, cfg, w, graphOptions);
  else buildAttentionOpModule(g, cfg, w, graphOptions);
  const doc = `Multi-head attention (${describeConfig(cfg)}${featured ? `; ${describeFeatures(features)}` : ''}), ${opts.flavour} flavour, exported by @mha/onnx.`;
  const metadata: Record<string, string> = { 'mha.format': 'mha-onnx/1', 'mha.flavour': opts.flavour, 'mha.config': JSON.stringify(configToJSON(cfg)) };
  if (featured) {
    metadata['mha.graph'] = features.past ? 'module-decoder-step' : 'module';
    metadata['mha.features'] = JSON.stringify({ crossAttention: features.cross, mask: features.mask ?? null, keyPaddingMask: features.keyPaddingMask ?? null, causalAlign: features.causalAlign, past: features.past });
  }
  return encodeModel(g.graph(`mha_${opts.flavour.replace('-', '_')}`, doc), {
    irVersion: OPSETS[opts.flavour].irVersion,
    opset: opts.opset,
    doc,
    metadata,
  });
}
