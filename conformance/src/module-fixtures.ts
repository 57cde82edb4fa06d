import { fromTorchAttnMask, fromTorchKeyPaddingMask, fromTorchStateDict, readSafetensors, type TorchLayout, MhaError, MhaErrorCode, resolveConfig, validateWeights, type AttentionMask, type ForwardOptions, type MhaConfig, type MhaWeights, type ResolvedMhaConfig, type Tensor } from '@mha/core';
import { decodeTensor } from './fixture.js';

/**
 * A module-feature golden case (`mha-module-fixture/1`, fixtures/FORMAT.md "Module-feature fixtures"):
 * a module in canonical weights, inputs, the forward options (masks in **PyTorch** polarity, converted
 * here with `fromTorchKeyPaddingMask` / `fromTorchAttnMask`, so the adapters are checked against torch)
 * and torch's output and weights. `NaN` in `expected` marks what torch leaves undefined (a fully masked
 * query row); SPEC defines it (a zero context), checked against the float64 reference instead.
 */
export interface ModuleFeatureFixture {
  readonly id: string;
  readonly description: string;
  readonly oracle: string;
  readonly config: ResolvedMhaConfig;
  readonly weights: MhaWeights;
  readonly x: Tensor;
  /** The forward options, masks already converted to SPEC polarity (`returnWeights` not included). */
  readonly options: ForwardOptions;
  /** torch's output and (when stored) weights. */
  readonly expected: { readonly output: Tensor; readonly weights?: Tensor | undefined };
  /**
   * An incremental-decoding fixture (FORMAT.md "Decode fixtures"): `x` is decoded in `chunks` through a module
   * cache, chunk `c` with `validLengths[c]` (null: every token real) padded on `paddingSide`; `expected.output`
   * holds every chunk's rows in order.
   */
  readonly decode?: { readonly chunks: readonly number[]; readonly validLengths?: readonly (readonly number[] | null)[] | undefined; readonly paddingSide?: 'left' | 'right' | undefined } | undefined;
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MhaError(MhaErrorCode.InvalidType, field, typeof v, 'expected a JSON object');
  return v as Record<string, unknown>;
}

/** A required string field without control characters (descriptions reach terminals through reports). */
function text(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  // eslint-disable-next-line no-control-regex
  if (typeof v !== 'string' || /[\u0000-\u001f\u007f-\u009f]/.test(v)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.${key}`, typeof v, v === undefined ? 'missing field' : 'expected a string without control characters');
  return v;
}

function torchMask(v: unknown, field: string, convert: (m: { data: Float32Array | Uint8Array; shape: number[]; dtype: 'bool' | 'float32' }) => AttentionMask): AttentionMask {
  const o = obj(v, field);
  const t = decodeTensor(o.tensor, `${field}.tensor`);
  if (o.dtype === 'bool') return convert({ data: Uint8Array.from(t.data), shape: [...t.shape], dtype: 'bool' });
  if (o.dtype === 'float32') return convert({ data: t.data, shape: [...t.shape], dtype: 'float32' });
  throw new MhaError(MhaErrorCode.InvalidType, `${field}.dtype`, o.dtype, "expected 'bool' or 'float32'");
}

/** Parses one `mha-module-fixture/1` object; malformed input raises an MhaError naming the field. */
export function parseModuleFixture(json: unknown, where: string): ModuleFeatureFixture {
  const o = obj(json, where);
  if (o.format !== 'mha-module-fixture/1') throw new MhaError(MhaErrorCode.InvalidType, `${where}.format`, o.format, "expected 'mha-module-fixture/1'");
  if (typeof o.id !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,127}$/.test(o.id)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.id`, typeof o.id, 'expected a kebab-case id');
  const description = text(o, 'description', where);
  const oracle = text(o, 'oracle', where);
  const config = resolveConfig(obj(o.config, `${where}.config`) as unknown as MhaConfig);
  const rawW = obj(o.weights, `${where}.weights`);
  const weights: Record<string, Float32Array> = {};
  for (const k of Object.keys(rawW)) weights[k] = decodeTensor(rawW[k], `${where}.weights.${k}`).data;
  const inputs = obj(o.inputs, `${where}.inputs`);
  const opts = obj(o.options, `${where}.options`);
  const options: ForwardOptions = {};
  if (inputs.key !== undefined) {
    options.key = decodeTensor(inputs.key, `${where}.inputs.key`);
    options.value = decodeTensor(inputs.value, `${where}.inputs.value`);
  }
  if (opts.causalAlign !== undefined) options.causalAlign = opts.causalAlign as 'top-left' | 'bottom-right';
  if (opts.keyPaddingMask !== undefined) options.keyPaddingMask = torchMask(opts.keyPaddingMask, `${where}.options.keyPaddingMask`, fromTorchKeyPaddingMask);
  if (opts.attnMask !== undefined) options.mask = torchMask(opts.attnMask, `${where}.options.attnMask`, (m) => fromTorchAttnMask(m, { heads: config.heads }));
  if (opts.averageWeights === true) options.averageWeights = true;
  const expected = obj(o.expected, `${where}.expected`);
  const decode = o.decode === undefined ? undefined : parseDecode(o.decode, `${where}.decode`);
  return {
    ...(decode ? { decode } : {}),
    id: o.id,
    description,
    oracle,
    config,
    weights: validateWeights(config, weights as unknown as MhaWeights),
    x: decodeTensor(inputs.x, `${where}.inputs.x`),
    options,
    expected: { output: decodeTensor(expected.output, `${where}.expected.output`), weights: decode ? undefined : decodeTensor(expected.weights, `${where}.expected.weights`) },
  };
}

function parseDecode(v: unknown, field: string): NonNullable<ModuleFeatureFixture['decode']> {
  const d = obj(v, field);
  const ints = (a: unknown, f: string): number[] => {
    if (!Array.isArray(a) || !a.every((n) => Number.isInteger(n) && n >= 0)) throw new MhaError(MhaErrorCode.InvalidType, f, typeof a, 'expected an array of non-negative integers');
    return a as number[];
  };
  const chunks = ints(d.chunks, `${field}.chunks`);
  const validLengths = d.validLengths === undefined ? undefined : (d.validLengths as unknown[]).map((l, i) => (l === null ? null : ints(l, `${field}.validLengths[${i}]`)));
  const side = d.paddingSide;
  if (side !== undefined && side !== 'left' && side !== 'right') throw new MhaError(MhaErrorCode.InvalidType, `${field}.paddingSide`, side, "expected 'left' or 'right'");
  return { chunks, validLengths, paddingSide: side };
}

/**
 * Parses one `mha-checkpoint-fixture/1` object (fixtures/checkpoints: a tiny GPT-2 / BERT / Llama / T5 /
 * ViT layer) with its `.safetensors` bytes: the weights come from the file through `readSafetensors` and
 * `fromTorchStateDict` (layout and prefix as stored), the HF `attention_mask` (1 = token, SPEC polarity already)
 * becomes the key-padding mask, `inputs.key` / `inputs.value` (cross-attention) the forward's `key` / `value`.
 */
export function parseCheckpointFixture(json: unknown, file: Uint8Array, where: string): ModuleFeatureFixture {
  const o = obj(json, where);
  if (o.format !== 'mha-checkpoint-fixture/1') throw new MhaError(MhaErrorCode.InvalidType, `${where}.format`, o.format, "expected 'mha-checkpoint-fixture/1'");
  if (typeof o.id !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,127}$/.test(o.id)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.id`, typeof o.id, 'expected a kebab-case id');
  const description = text(o, 'description', where);
  const oracle = text(o, 'oracle', where);
  const layout = text(o, 'layout', where) as TorchLayout;
  const prefix = text(o, 'prefix', where);
  const fileName = text(o, 'file', where);
  const fileDtype = text(o, 'fileDtype', where);
  if (!['F32', 'F16', 'BF16'].includes(fileDtype)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.fileDtype`, fileDtype, "expected 'F32', 'F16' or 'BF16'");
  // The file is what is read; the JSON copy of its tensors is for readers without a safetensors reader.
  obj(o.stateDict, `${where}.stateDict`);
  const config = resolveConfig(obj(o.config, `${where}.config`) as unknown as MhaConfig);
  const { tensors } = readSafetensors(file);
  const weights = fromTorchStateDict(layout, config, tensors, { prefix });
  const opts = obj(o.options, `${where}.options`);
  const options: ForwardOptions = {};
  if (opts.attentionMask !== undefined) {
    const m = decodeTensor(opts.attentionMask, `${where}.options.attentionMask`);
    options.keyPaddingMask = { kind: 'bool', data: Uint8Array.from(m.data), shape: [...m.shape] };
  }
  const inputs = obj(o.inputs, `${where}.inputs`);
  if (inputs.key !== undefined || inputs.value !== undefined) {
    // Cross-attention (T5's EncDecAttention): keys and values from the encoder output.
    options.key = decodeTensor(inputs.key, `${where}.inputs.key`);
    options.value = decodeTensor(inputs.value, `${where}.inputs.value`);
  }
  const expected = obj(o.expected, `${where}.expected`);
  return {
    id: `checkpoint-${o.id}`,
    description: `${description} Weights read from ${fileName} (${fileDtype}).`,
    oracle,
    config,
    weights,
    x: decodeTensor(inputs.x, `${where}.inputs.x`),
    options,
    expected: { output: decodeTensor(expected.output, `${where}.expected.output`) },
  };
}
