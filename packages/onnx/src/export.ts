import { configToJSON, MhaError, MhaErrorCode, parameterCount, resolveConfig, validateWeights, type MhaConfig, type MhaWeights, type ResolvedMhaConfig } from '@mha/core';
import { encodeModel, GraphBuilder } from './graph-builder.js';
import { buildAttentionOpModule } from './module-attention-op.js';
import { buildDecomposedModule } from './module-decomposed.js';

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
  /** Add the diagnostic `trace_*` outputs (see `TRACE_OUTPUTS`). Default `false`. */
  traceOutputs?: boolean | undefined;
}

/** Opsets each flavour can be written at, and the IR version written with them. */
export const OPSETS: Readonly<Record<OnnxFlavour, { readonly min: number; readonly max: number; readonly default: number; readonly irVersion: number }>> = {
  // Opset 13 is the oldest where Softmax works on one axis and Unsqueeze/ReduceSum take axes as an input.
  decomposed: { min: 13, max: 17, default: 17, irVersion: 8 },
  'attention-op': { min: 23, max: 23, default: 23, irVersion: 11 },
};

/** Protobuf cannot serialise a message of 2 GiB or more; weights beyond that would need external data. */
const MAX_MODEL_BYTES = 2 ** 31 - 1 - 2 ** 20;

/** Validated {@link ExportOptions} with defaults filled in. */
export interface ResolvedExportOptions {
  readonly flavour: OnnxFlavour;
  readonly opset: number;
  readonly attentionWeights: boolean;
  readonly traceOutputs: boolean;
}

const KNOWN = ['flavour', 'opset', 'attentionWeights', 'traceOutputs'];

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
  return { flavour: flavour as OnnxFlavour, opset, attentionWeights: bool(o, 'attentionWeights'), traceOutputs: bool(o, 'traceOutputs') };
}

function describeConfig(c: ResolvedMhaConfig): string {
  return `dIn=${c.dIn} heads=${c.heads} headDim=${c.headDim} causal=${c.causal} qkvBias=${c.qkvBias} outProj=${c.outProj} outProjBias=${c.outProjBias} scale=${c.scale}`;
}

/**
 * Exports an MHA module as the bytes of a standard ONNX model (`ModelProto`), weights stored as
 * initializers, written with onnx-proto. Batch and sequence length are symbolic dims (`batch`,
 * `tokens`): one model serves every `B` and `T`. Input `x [batch, tokens, dIn]`, output
 * `output [batch, tokens, dOut]`, optionally `attention_weights [batch, heads, tokens, tokens]`.
 * Config and weights are validated by `@mha/core` first.
 *
 * @example
 * const config = resolveConfig({ dIn: 8, dOut: 8, heads: 2, causal: true });
 * const bytes = exportOnnx(config, initWeights(config, 1), { flavour: 'decomposed' });
 * writeFileSync('mha.onnx', bytes);
 */
export function exportOnnx(config: MhaConfig | ResolvedMhaConfig, weights: MhaWeights, options?: ExportOptions): Uint8Array {
  const cfg = resolveConfig(config);
  // The graphs are self-attention with one fused QKV projection: a GQA or kdim/vdim module is refused
  // rather than exported wrong (exporting them is issue 13's open item; run them on a backend meanwhile).
  for (const [field, value, fallback] of [['kvHeads', cfg.kvHeads, cfg.heads], ['kdim', cfg.kdim, cfg.dIn], ['vdim', cfg.vdim, cfg.dIn]] as const) {
    if (value !== fallback) throw new MhaError(MhaErrorCode.Unsupported, `config.${field}`, value, 'ONNX export covers self-attention modules with kvHeads = heads and kdim = vdim = dIn only (for now)');
  }
  const w = validateWeights(cfg, weights);
  const opts = resolveExportOptions(options);
  if (parameterCount(cfg) * 4 > MAX_MODEL_BYTES) {
    throw new MhaError(MhaErrorCode.InvalidConfig, 'config', parameterCount(cfg), 'the weights exceed the 2 GiB protobuf limit of one ONNX file (external data is not supported)');
  }
  const g = new GraphBuilder();
  const graphOptions = { attentionWeights: opts.attentionWeights, traceOutputs: opts.traceOutputs };
  if (opts.flavour === 'decomposed') buildDecomposedModule(g, cfg, w, graphOptions);
  else buildAttentionOpModule(g, cfg, w, graphOptions);
  const doc = `Multi-head attention (${describeConfig(cfg)}), ${opts.flavour} flavour, exported by @mha/onnx.`;
  return encodeModel(g.graph(`mha_${opts.flavour.replace('-', '_')}`, doc), {
    irVersion: OPSETS[opts.flavour].irVersion,
    opset: opts.opset,
    doc,
    metadata: { 'mha.format': 'mha-onnx/1', 'mha.flavour': opts.flavour, 'mha.config': JSON.stringify(configToJSON(cfg)) },
  });
}
