import { resolveConfig, type MhaConfig, type ResolvedMhaConfig } from './config.js';
import { expectObject, own, readTensor, type TensorLike } from './convert-input.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { formatShape } from './tensor.js';
import { validateWeights, type MhaWeights } from './weights.js';

export type { NestedNumbers, TensorLike } from './convert-input.js';

/**
 * A PyTorch `nn.Linear`'s parameters: `weight` is `[out, in]`. Each may be a Float32Array, a
 * Float64Array, a plain (nested) number array or `{ data, shape }` (see {@link TensorLike}).
 */
export interface TorchLinear {
  weight: TensorLike;
  bias?: TensorLike | undefined;
}

/** One head's weights in canonical orientation: `wq/wk/wv` are `[dIn, headDim]`, biases `[headDim]`. */
export interface HeadWeights {
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  bq?: Float32Array | undefined;
  bk?: Float32Array | undefined;
  bv?: Float32Array | undefined;
}

/** The PyTorch module layouts the converters understand (state_dict naming, see {@link fromTorchStateDict}). */
export type TorchLayout = 'book-wrapper' | 'book-mha' | 'torch-mha' | 'fused-qkv' | 'gpt2' | 'bert' | 'vit' | 'llama' | 't5';

/** Every {@link TorchLayout}. */
export const TORCH_LAYOUTS: readonly TorchLayout[] = ['book-wrapper', 'book-mha', 'torch-mha', 'fused-qkv', 'gpt2', 'bert', 'vit', 'llama', 't5'];

/**
 * Reads one tensor (see {@link TensorLike}) into a fresh float32 array of exactly `shape`'s element
 * count; a declared or nested shape must equal `shape` too.
 */
function expectTensor(value: unknown, shape: readonly number[], field: string): Float32Array {
  if (value === undefined) throw new MhaError(MhaErrorCode.WeightShape, field, undefined, `missing; expected ${formatShape(shape)}`);
  const t = readTensor(value, field);
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.shape !== undefined && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new MhaError(MhaErrorCode.WeightShape, field, t.shape, `expected shape ${formatShape(shape)}`);
  }
  if (t.data.length !== n) throw new MhaError(MhaErrorCode.WeightShape, field, t.data.length, `expected ${n} elements (${formatShape(shape)})`);
  return t.data;
}

/** `[rows, cols]` row-major -> `[cols, rows]` row-major. */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[base + c]!;
  }
  return dst;
}

/** Rows `[start, start+count)` of a `[*, cols]` matrix, transposed to `[cols, count]`. */
function rowsTransposed(src: Float32Array, start: number, count: number, cols: number): Float32Array {
  return transpose(src.subarray(start * cols, (start + count) * cols), count, cols);
}

function linear(l: unknown, outDim: number, inDim: number, field: string, wantBias: boolean) {
  if (l === undefined) throw new MhaError(MhaErrorCode.WeightShape, field, undefined, 'missing nn.Linear parameters { weight, bias? }');
  expectObject(l, field, 'nn.Linear parameters { weight, bias? }');
  const w = expectTensor(own(l, 'weight'), [outDim, inDim], `${field}.weight`);
  const bias = own(l, 'bias');
  let b: Float32Array | undefined;
  if (wantBias) b = expectTensor(bias, [outDim], `${field}.bias`);
  else if (bias !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, `${field}.bias`, bias, 'config says there is no bias here');
  }
  return { w: transpose(w, outDim, inDim), b };
}

/**
 * From separate `nn.Linear` layers, as in the book's `MultiHeadAttention`
 * (`W_query`, `W_key`, `W_value`: `Linear(d_in, d_out)`, `out_proj`: `Linear(d_out, d_out)`).
 *
 * @example
 * const w = fromTorchLinear(cfg, { query: { weight: Wq }, key: { weight: Wk }, value: { weight: Wv }, out: { weight: Wo, bias: bo } });
 */
export function fromTorchLinear(
  config: MhaConfig | ResolvedMhaConfig,
  parts: { query: TorchLinear; key: TorchLinear; value: TorchLinear; out?: TorchLinear | undefined },
  names = { query: 'query', key: 'key', value: 'value', out: 'out' },
): MhaWeights {
  const cfg = resolveConfig(config);
  const { dIn, dOut } = cfg;
  const dKv = cfg.kvHeads * cfg.headDim;
  expectObject(parts, 'parts', '{ query, key, value, out? } of nn.Linear parameters');
  const q = linear(own(parts, 'query'), dOut, dIn, names.query, cfg.qkvBias);
  const k = linear(own(parts, 'key'), dKv, cfg.kdim, names.key, cfg.qkvBias);
  const v = linear(own(parts, 'value'), dKv, cfg.vdim, names.value, cfg.qkvBias);
  const weights: MhaWeights = { wq: q.w, wk: k.w, wv: v.w, bq: q.b, bk: k.b, bv: v.b };
  const out = own(parts, 'out');
  if (cfg.outProj) {
    const o = linear(out, dOut, dOut, names.out, cfg.outProjBias);
    weights.wo = o.w;
    weights.bo = o.b;
  } else if (out !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, names.out, out, 'config says there is no output projection (outProj: false)');
  }
  return validateWeights(cfg, stripUndefined(weights));
}

/**
 * From a packed `[3*dOut, dIn]` projection whose rows are `[q; k; v]` (each block head-major):
 * `nn.MultiheadAttention.in_proj_weight`, or the fused-QKV layer's `qkv = nn.Linear(d, 3d)`.
 */
export function fromPackedQkv(
  config: MhaConfig | ResolvedMhaConfig,
  packed: { weight: TensorLike; bias?: TensorLike | undefined; out?: TorchLinear | undefined },
  names = { weight: 'in_proj_weight', bias: 'in_proj_bias', out: 'out_proj' },
): MhaWeights {
  const cfg = resolveConfig(config);
  const { dIn, dOut } = cfg;
  expectObject(packed, 'packed', '{ weight, bias?, out? }');
  const w = expectTensor(own(packed, 'weight'), [3 * dOut, dIn], names.weight);
  const weights: MhaWeights = {
    wq: rowsTransposed(w, 0, dOut, dIn),
    wk: rowsTransposed(w, dOut, dOut, dIn),
    wv: rowsTransposed(w, 2 * dOut, dOut, dIn),
  };
  const bias = own(packed, 'bias');
  if (cfg.qkvBias) {
    const b = expectTensor(bias, [3 * dOut], names.bias);
    weights.bq = b.subarray(0, dOut);
    weights.bk = b.subarray(dOut, 2 * dOut);
    weights.bv = b.subarray(2 * dOut);
  } else if (bias !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, names.bias, bias, 'config says qkvBias is false');
  }
  const out = own(packed, 'out');
  if (cfg.outProj) {
    const o = linear(out, dOut, dOut, names.out, cfg.outProjBias);
    weights.wo = o.w;
    weights.bo = o.b;
  } else if (out !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, names.out, out, 'config says there is no output projection (outProj: false)');
  }
  return validateWeights(cfg, stripUndefined(weights));
}

/**
 * From `nn.MultiheadAttention(embed_dim, num_heads)`'s parameters (`kdim == vdim == embed_dim`).
 * Config: `{ dIn: E, dOut: E, heads, qkvBias: bias, outProjBias: bias }`.
 */
export function fromTorchMultiheadAttention(
  config: MhaConfig | ResolvedMhaConfig,
  p: { inProjWeight: TensorLike; inProjBias?: TensorLike | undefined; outProjWeight: TensorLike; outProjBias?: TensorLike | undefined },
): MhaWeights {
  expectObject(p, 'params', '{ inProjWeight, inProjBias?, outProjWeight, outProjBias? }');
  return fromPackedQkv(
    config,
    { weight: own(p, 'inProjWeight') as TensorLike, bias: own(p, 'inProjBias') as TensorLike | undefined, out: { weight: own(p, 'outProjWeight') as TensorLike, bias: own(p, 'outProjBias') as TensorLike | undefined } },
    { weight: 'inProjWeight', bias: 'inProjBias', out: 'outProj' },
  );
}

/** Splits canonical weights into per-head blocks (the book's `MultiHeadAttentionWrapper` view). */
export function toPerHead(config: MhaConfig | ResolvedMhaConfig, weights: MhaWeights): HeadWeights[] {
  const cfg = resolveConfig(config);
  const w = validateWeights(cfg, weights);
  const { dIn, dOut, headDim, heads } = cfg;
  const cols = (m: Float32Array, h: number): Float32Array => {
    const out = new Float32Array(dIn * headDim);
    for (let i = 0; i < dIn; i++) out.set(m.subarray(i * dOut + h * headDim, i * dOut + (h + 1) * headDim), i * headDim);
    return out;
  };
  const result: HeadWeights[] = [];
  for (let h = 0; h < heads; h++) {
    const head: HeadWeights = { wq: cols(w.wq, h), wk: cols(w.wk, h), wv: cols(w.wv, h) };
    if (w.bq && w.bk && w.bv) {
      head.bq = w.bq.slice(h * headDim, (h + 1) * headDim);
      head.bk = w.bk.slice(h * headDim, (h + 1) * headDim);
      head.bv = w.bv.slice(h * headDim, (h + 1) * headDim);
    }
    result.push(head);
  }
  return result;
}

/** One head's weights as {@link fromPerHead} accepts them: any {@link TensorLike} per field. */
export type HeadWeightsLike = { readonly [K in keyof HeadWeights]: TensorLike | undefined };

/**
 * Merges per-head weights (head h's `[dIn, headDim]` blocks) into canonical fused weights: the
 * inverse of {@link toPerHead}. `out` supplies `wo`/`bo` when the config has an output projection.
 */
export function fromPerHead(
  config: MhaConfig | ResolvedMhaConfig,
  heads: readonly (HeadWeights | HeadWeightsLike)[],
  out?: { wo: TensorLike; bo?: TensorLike | undefined },
): MhaWeights {
  const cfg = resolveConfig(config);
  const { dIn, dOut, headDim } = cfg;
  if (!Array.isArray(heads)) throw new MhaError(MhaErrorCode.InvalidType, 'heads', heads, `expected an array of ${cfg.heads} per-head weights`);
  if (heads.length !== cfg.heads) throw new MhaError(MhaErrorCode.WeightShape, 'heads', heads.length, `expected ${cfg.heads} heads`);
  const wq = new Float32Array(dIn * dOut);
  const wk = new Float32Array(dIn * dOut);
  const wv = new Float32Array(dIn * dOut);
  const bias = cfg.qkvBias ? [new Float32Array(dOut), new Float32Array(dOut), new Float32Array(dOut)] : undefined;
  for (let h = 0; h < cfg.heads; h++) {
    const head = expectObject(heads[h], `heads[${h}]`, '{ wq, wk, wv, bq?, bk?, bv? }');
    const mats = [
      [wq, 'wq'],
      [wk, 'wk'],
      [wv, 'wv'],
    ] as const;
    for (const [dst, name] of mats) {
      const src = expectTensor(own(head, name), [dIn, headDim], `heads[${h}].${name}`);
      for (let i = 0; i < dIn; i++) dst.set(src.subarray(i * headDim, (i + 1) * headDim), i * dOut + h * headDim);
    }
    for (const [j, name] of (['bq', 'bk', 'bv'] as const).entries()) {
      const b = own(head, name);
      if (bias) bias[j]!.set(expectTensor(b, [headDim], `heads[${h}].${name}`), h * headDim);
      else if (b !== undefined) throw new MhaError(MhaErrorCode.WeightShape, `heads[${h}].${name}`, b, 'config says qkvBias is false');
    }
  }
  const weights: MhaWeights = { wq, wk, wv };
  if (bias) [weights.bq, weights.bk, weights.bv] = bias;
  if (cfg.outProj) {
    if (out === undefined) throw new MhaError(MhaErrorCode.WeightShape, 'out', undefined, 'missing { wo, bo? }: the config has an output projection');
    expectObject(out, 'out', '{ wo, bo? }');
    weights.wo = expectTensor(own(out, 'wo'), [dOut, dOut], 'out.wo');
    const bo = own(out, 'bo');
    if (cfg.outProjBias) weights.bo = expectTensor(bo, [dOut], 'out.bo');
    else if (bo !== undefined) throw new MhaError(MhaErrorCode.WeightShape, 'out.bo', bo, 'config says outProjBias is false');
  } else if (out !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, 'out', out, 'config says there is no output projection (outProj: false)');
  }
  return validateWeights(cfg, stripUndefined(weights));
}

/** A state_dict value: any {@link TensorLike}; a declared or nested shape is checked too. */
export type StateDictValue = TensorLike;

/** Options of {@link fromTorchStateDict}. */
export interface StateDictOptions {
  /**
   * Where the attention module sits in a bigger model's state_dict (`'attn.'`,
   * `'transformer.h.0.attn.'`): only keys under it are read, everything else is the rest of the model
   * and is ignored. A missing trailing `.` is added.
   */
  readonly prefix?: string | undefined;
}

/** The non-parameter buffers each layout registers (the book's causal `mask`): accepted and ignored. */
function isBuffer(layout: TorchLayout, key: string, heads: number): boolean {
  if (layout === 'book-mha') return key === 'mask';
  // Hugging Face: GPT-2's causal `bias` / `masked_bias` buffers, Llama's rotary `inv_freq`, BERT/ViT's
  // post-attention LayerNorm (outside the attention module: apply it yourself after the residual).
  if (layout === 'gpt2') return key === 'bias' || key === 'masked_bias';
  if (layout === 'llama') return key === 'rotary_emb.inv_freq';
  if (layout === 'bert' || layout === 'vit') return key === 'output.LayerNorm.weight' || key === 'output.LayerNorm.bias';
  if (layout === 'book-wrapper') {
    const m = /^heads\.(\d+)\.mask$/.exec(key);
    return m !== null && Number(m[1]) < heads && String(Number(m[1])) === m[1];
  }
  return false;
}

/** The one key every state_dict of a layout has: found under some prefix, it names that prefix. */
const ANCHOR: Record<TorchLayout, string> = {
  'book-wrapper': 'heads.0.W_query.weight',
  'book-mha': 'W_query.weight',
  'torch-mha': 'in_proj_weight',
  'fused-qkv': 'qkv.weight',
  gpt2: 'c_attn.weight',
  bert: 'self.query.weight',
  vit: 'attention.query.weight',
  llama: 'q_proj.weight',
  t5: 'q.weight',
};

/**
 * Which layouts a state_dict holds, and under which prefixes: every key ending in a layout's anchor
 * (`c_attn.weight` for GPT-2, `self.query.weight` for BERT, `q_proj.weight` for Llama, ...) names one
 * match. For a whole model this lists every attention layer, e.g.
 * `[{ layout: 'gpt2', prefix: 'transformer.h.0.attn.' }, { layout: 'gpt2', prefix: 'transformer.h.1.attn.' }]`.
 *
 * @example
 * const [first] = detectLayouts(tensors);
 * const w = fromTorchStateDict(first.layout, cfg, tensors, { prefix: first.prefix });
 */
export function detectLayouts(sd: Readonly<Record<string, unknown>>): { layout: TorchLayout; prefix: string }[] {
  expectObject(sd, 'stateDict', 'a state_dict: an object of tensors keyed by parameter name');
  const out: { layout: TorchLayout; prefix: string }[] = [];
  for (const key of Object.keys(sd)) {
    for (const layout of TORCH_LAYOUTS) {
      const anchor = ANCHOR[layout];
      if (key === anchor || key.endsWith(`.${anchor}`)) out.push({ layout, prefix: key.slice(0, key.length - anchor.length) });
    }
  }
  return out;
}

function commonPrefix(keys: readonly string[]): string {
  if (keys.length === 0) return '';
  let p = keys[0]!;
  for (const k of keys) while (!k.startsWith(p)) p = p.slice(0, -1);
  return p.slice(0, p.lastIndexOf('.') + 1);
}

/** A hint for a state_dict that looks like it holds the attention under a prefix, or ''. */
function prefixHint(layout: TorchLayout, keys: readonly string[]): string {
  const anchor = ANCHOR[layout];
  const found = keys.filter((k) => k.endsWith(`.${anchor}`)).map((k) => k.slice(0, k.length - anchor.length));
  if (found.length > 0) return `; the state_dict has it under ${found.slice(0, 3).map((p) => `'${p}'`).join(', ')}: pass { prefix: '${found[0]}' }`;
  const common = commonPrefix(keys);
  if (common !== '') return `; every key starts with '${common}': pass { prefix: '${common}' }`;
  return keys.length > 0 ? `; keys present: ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''}` : '; the state_dict is empty';
}

/**
 * From a PyTorch state_dict (names exactly as torch prints them), for the layouts of the PyTorch modules this project reproduces and of common Hugging Face models:
 * - `book-wrapper`: `heads.{h}.W_query.weight` ... (`[headDim, dIn]` each), optional `.bias`; no out projection
 * - `book-mha`: `W_query.weight` / `W_key` / `W_value` (`[dOut, dIn]`), `out_proj.weight` / `.bias`
 * - `torch-mha`: `in_proj_weight` (`[3*dOut, dIn]`), `in_proj_bias`, `out_proj.weight`, `out_proj.bias`; with
 *   `kdim`/`vdim` != `embed_dim`, torch's `q_proj_weight` / `k_proj_weight` (`[E, kdim]`) / `v_proj_weight` instead
 * - `fused-qkv` (the tutorial's fused-QKV `MultiHeadSelfAttention`): `qkv.weight` (`[3*dOut, dIn]`), `qkv.bias`, `proj.weight`, `proj.bias`
 * - `gpt2`: `c_attn.weight` (Conv1D, `[dIn, 3*dOut]`, columns q|k|v), `c_attn.bias`, `c_proj.weight` (`[dOut, dOut]`), `c_proj.bias`; buffers `bias`, `masked_bias` ignored
 * - `bert` / `vit`: `self.query|key|value` (ViT: `attention.query|key|value`), `output.dense`; `output.LayerNorm.*` ignored (outside the module)
 * - `llama` (Mistral, Qwen2): `q_proj`, `k_proj`, `v_proj` (`[kvHeads*headDim, dIn]` with GQA), `o_proj`; no RoPE (apply it yourself)
 * - `t5`: `q`, `k`, `v`, `o` without biases (T5 does not scale scores: use `scale: 1`)
 *
 * {@link detectLayouts} lists which layouts (and prefixes) a state_dict holds.
 *
 * Values may be any {@link TensorLike} (a JSON-saved state_dict's nested arrays included). The book's
 * registered causal-mask buffers (`mask`, `heads.{h}.mask`) are accepted and ignored: the mask comes
 * from `config.causal`. Any other key is rejected so a layout mix-up fails loudly. For a model that
 * contains the attention, pass `{ prefix: 'attn.' }`: keys outside the prefix are then ignored.
 *
 * @example
 * const w = fromTorchStateDict('torch-mha', cfg, modelStateDict, { prefix: 'transformer.h.0.attn.' });
 */
export function fromTorchStateDict(layout: TorchLayout, config: MhaConfig | ResolvedMhaConfig, sd: Readonly<Record<string, StateDictValue>>, options?: StateDictOptions): MhaWeights {
  if (!Object.hasOwn(ANCHOR, layout)) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'layout', layout,  `expected one of ${TORCH_LAYOUTS.join(', ')}`);
  }
  const cfg = resolveConfig(config);
  expectObject(sd, 'stateDict', 'a state_dict: an object of tensors keyed by parameter name');
  if (options !== undefined) expectObject(options, 'options', '{ prefix? }');
  let prefix = own(options, 'prefix') ?? '';
  if (typeof prefix !== 'string') throw new MhaError(MhaErrorCode.InvalidType, 'options.prefix', prefix, 'must be a string');
  if (prefix !== '' && !prefix.endsWith('.')) prefix += '.';
  // Own keys only, each value read once; with a prefix, keys outside it belong to the rest of the model.
  const allKeys = Object.keys(sd);
  const entries = new Map<string, unknown>();
  for (const key of allKeys) if (key.startsWith(prefix)) entries.set(key.slice(prefix.length), (sd as Record<string, unknown>)[key]);
  const { dIn, headDim } = cfg;
  // nn.MultiheadAttention with kdim/vdim != embed_dim stores q_proj_weight / k_proj_weight / v_proj_weight instead.
  const separateMha = layout === 'torch-mha' && !entries.has('in_proj_weight') && entries.has('q_proj_weight');
  if (!entries.has(ANCHOR[layout]) && !separateMha) {
    let hint = '';
    if (prefix === '') hint = prefixHint(layout, allKeys);
    else if (entries.size === 0) hint = `; no key starts with '${prefix}'`;
    throw new MhaError(MhaErrorCode.WeightShape, prefix + ANCHOR[layout], undefined, `missing: not a '${layout}' state_dict${hint}`);
  }
  const used = new Set<string>();
  const get = (key: string): unknown => {
    used.add(key);
    return entries.get(key);
  };
  // Fields in errors are the caller's full keys (prefix included), so they can be found in the state_dict.
  const lin = (name: string): TorchLinear => ({ weight: get(`${name}.weight`) as TensorLike, bias: get(`${name}.bias`) as TensorLike | undefined });
  let weights: MhaWeights;
  switch (layout) {
    case 'book-wrapper': {
      if (cfg.outProj) {
        throw new MhaError(MhaErrorCode.InvalidConfig, 'config.outProj', true, 'the book-wrapper layout has no output projection');
      }
      const heads: HeadWeights[] = [];
      for (let h = 0; h < cfg.heads; h++) {
        const p = (n: string) => linear(lin(`heads.${h}.${n}`), headDim, dIn, `${prefix}heads.${h}.${n}`, cfg.qkvBias);
        const q = p('W_query');
        const k = p('W_key');
        const v = p('W_value');
        heads.push({ wq: q.w, wk: k.w, wv: v.w, bq: q.b, bk: k.b, bv: v.b });
      }
      weights = fromPerHead(cfg, heads);
      break;
    }
    case 'book-mha':
      weights = fromTorchLinear(
        cfg,
        { query: lin('W_query'), key: lin('W_key'), value: lin('W_value'), out: cfg.outProj ? lin('out_proj') : undefined },
        { query: `${prefix}W_query`, key: `${prefix}W_key`, value: `${prefix}W_value`, out: `${prefix}out_proj` },
      );
      break;
    case 'torch-mha':
      if (separateMha) {
        const dKv = cfg.kvHeads * cfg.headDim;
        const b = get('in_proj_bias');
        let bias: Float32Array | undefined;
        if (cfg.qkvBias) bias = expectTensor(b, [cfg.dOut + 2 * dKv], `${prefix}in_proj_bias`);
        else if (b !== undefined) throw new MhaError(MhaErrorCode.WeightShape, `${prefix}in_proj_bias`, b, 'config says qkvBias is false');
        weights = fromTorchLinear(
          cfg,
          {
            query: { weight: get('q_proj_weight') as TensorLike, bias: bias?.subarray(0, cfg.dOut) },
            key: { weight: get('k_proj_weight') as TensorLike, bias: bias?.subarray(cfg.dOut, cfg.dOut + dKv) },
            value: { weight: get('v_proj_weight') as TensorLike, bias: bias?.subarray(cfg.dOut + dKv) },
            out: cfg.outProj ? lin('out_proj') : undefined,
          },
          { query: `${prefix}q_proj_weight`, key: `${prefix}k_proj_weight`, value: `${prefix}v_proj_weight`, out: `${prefix}out_proj` },
        );
        break;
      }
      weights = fromPackedQkv(
        cfg,
        { weight: get('in_proj_weight') as TensorLike, bias: get('in_proj_bias') as TensorLike | undefined, out: cfg.outProj ? lin('out_proj') : undefined },
        { weight: `${prefix}in_proj_weight`, bias: `${prefix}in_proj_bias`, out: `${prefix}out_proj` },
      );
      break;
    case 'gpt2': {
      // Conv1D stores [in, out]: the canonical orientation already; c_attn's columns are q | k | v.
      const w = expectTensor(get('c_attn.weight'), [dIn, 3 * cfg.dOut], `${prefix}c_attn.weight`);
      const cols = (start: number): Float32Array => {
        const out = new Float32Array(dIn * cfg.dOut);
        for (let r = 0; r < dIn; r++) out.set(w.subarray(r * 3 * cfg.dOut + start, r * 3 * cfg.dOut + start + cfg.dOut), r * cfg.dOut);
        return out;
      };
      const parts: MhaWeights = { wq: cols(0), wk: cols(cfg.dOut), wv: cols(2 * cfg.dOut) };
      const bias = get('c_attn.bias');
      if (cfg.qkvBias) {
        const b = expectTensor(bias, [3 * cfg.dOut], `${prefix}c_attn.bias`);
        Object.assign(parts, { bq: b.subarray(0, cfg.dOut), bk: b.subarray(cfg.dOut, 2 * cfg.dOut), bv: b.subarray(2 * cfg.dOut) });
      } else if (bias !== undefined) throw new MhaError(MhaErrorCode.WeightShape, `${prefix}c_attn.bias`, bias, 'config says qkvBias is false');
      if (cfg.outProj) {
        parts.wo = expectTensor(get('c_proj.weight'), [cfg.dOut, cfg.dOut], `${prefix}c_proj.weight`);
        const ob = get('c_proj.bias');
        if (cfg.outProjBias) parts.bo = expectTensor(ob, [cfg.dOut], `${prefix}c_proj.bias`);
        else if (ob !== undefined) throw new MhaError(MhaErrorCode.WeightShape, `${prefix}c_proj.bias`, ob, 'config says outProjBias is false');
      }
      weights = validateWeights(cfg, stripUndefined(parts));
      break;
    }
    case 'bert':
    case 'vit': {
      const sub = layout === 'bert' ? 'self.' : 'attention.';
      weights = fromTorchLinear(
        cfg,
        { query: lin(`${sub}query`), key: lin(`${sub}key`), value: lin(`${sub}value`), out: cfg.outProj ? lin('output.dense') : undefined },
        { query: `${prefix}${sub}query`, key: `${prefix}${sub}key`, value: `${prefix}${sub}value`, out: `${prefix}output.dense` },
      );
      break;
    }
    case 'llama':
      weights = fromTorchLinear(
        cfg,
        { query: lin('q_proj'), key: lin('k_proj'), value: lin('v_proj'), out: cfg.outProj ? lin('o_proj') : undefined },
        { query: `${prefix}q_proj`, key: `${prefix}k_proj`, value: `${prefix}v_proj`, out: `${prefix}o_proj` },
      );
      break;
    case 't5':
      if (entries.has('relative_attention_bias.weight')) {
        throw new MhaError(MhaErrorCode.Unsupported, `${prefix}relative_attention_bias.weight`, entries.get('relative_attention_bias.weight'), "T5's relative position bias is not part of the module; pass it as an additive mask");
      }
      weights = fromTorchLinear(
        cfg,
        { query: lin('q'), key: lin('k'), value: lin('v'), out: cfg.outProj ? lin('o') : undefined },
        { query: `${prefix}q`, key: `${prefix}k`, value: `${prefix}v`, out: `${prefix}o` },
      );
      break;
    case 'fused-qkv':
      weights = fromPackedQkv(
        cfg,
        { weight: get('qkv.weight') as TensorLike, bias: get('qkv.bias') as TensorLike | undefined, out: cfg.outProj ? lin('proj') : undefined },
        { weight: `${prefix}qkv.weight`, bias: `${prefix}qkv.bias`, out: `${prefix}proj` },
      );
      break;
  }
  for (const [key, value] of entries) {
    if (used.has(key) || isBuffer(layout, key, cfg.heads)) continue;
    const hint = prefix === '' ? prefixHint(layout, allKeys).replace(/^; keys present:.*$/, '') : '';
    throw new MhaError(MhaErrorCode.WeightShape, prefix + key, value, `unexpected key for layout '${layout}'${hint}`);
  }
  return weights;
}

function stripUndefined(w: MhaWeights): MhaWeights {
  const out = { ...w };
  for (const k of Object.keys(out) as (keyof MhaWeights)[]) if (out[k] === undefined) delete out[k];
  return out;
}
