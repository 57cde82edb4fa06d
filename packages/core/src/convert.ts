import type { ResolvedMhaConfig } from './config.js';
import { MhaError, MhaErrorCode } from './errors.js';
import type { Tensor } from './tensor.js';
import { validateWeights, type MhaWeights } from './weights.js';

/** A PyTorch `nn.Linear`'s parameters as flat row-major arrays: `weight` is `[out, in]`. */
export interface TorchLinear {
  weight: Float32Array;
  bias?: Float32Array | undefined;
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
export type TorchLayout = 'book-wrapper' | 'book-mha' | 'torch-mha' | 'fused-qkv';

function expectLength(a: Float32Array | undefined, n: number, field: string, shape: string): Float32Array {
  if (a === undefined) throw new MhaError(MhaErrorCode.WeightShape, field, undefined, `missing; expected ${shape}`);
  if (!(a instanceof Float32Array)) throw new MhaError(MhaErrorCode.InvalidType, field, a, 'must be a Float32Array');
  if (a.length !== n) throw new MhaError(MhaErrorCode.WeightShape, field, a.length, `expected ${n} elements (${shape})`);
  return a;
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

function linear(l: TorchLinear | undefined, outDim: number, inDim: number, field: string, wantBias: boolean) {
  if (l === undefined) throw new MhaError(MhaErrorCode.WeightShape, field, undefined, 'missing nn.Linear parameters');
  const w = expectLength(l.weight, outDim * inDim, `${field}.weight`, `[out=${outDim}, in=${inDim}]`);
  let b: Float32Array | undefined;
  if (wantBias) b = expectLength(l.bias, outDim, `${field}.bias`, `[${outDim}]`);
  else if (l.bias !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, `${field}.bias`, l.bias, 'config says there is no bias here');
  }
  return { w: transpose(w, outDim, inDim), b: b?.slice() };
}

/**
 * From separate `nn.Linear` layers, as in the book's `MultiHeadAttention`
 * (`W_query`, `W_key`, `W_value`: `Linear(d_in, d_out)`, `out_proj`: `Linear(d_out, d_out)`).
 *
 * @example
 * const w = fromTorchLinear(cfg, { query: { weight: Wq }, key: { weight: Wk }, value: { weight: Wv }, out: { weight: Wo, bias: bo } });
 */
export function fromTorchLinear(
  config: ResolvedMhaConfig,
  parts: { query: TorchLinear; key: TorchLinear; value: TorchLinear; out?: TorchLinear | undefined },
  names = { query: 'query', key: 'key', value: 'value', out: 'out' },
): MhaWeights {
  const { dIn, dOut } = config;
  const q = linear(parts.query, dOut, dIn, names.query, config.qkvBias);
  const k = linear(parts.key, dOut, dIn, names.key, config.qkvBias);
  const v = linear(parts.value, dOut, dIn, names.value, config.qkvBias);
  const weights: MhaWeights = { wq: q.w, wk: k.w, wv: v.w, bq: q.b, bk: k.b, bv: v.b };
  if (config.outProj) {
    const o = linear(parts.out, dOut, dOut, names.out, config.outProjBias);
    weights.wo = o.w;
    weights.bo = o.b;
  } else if (parts.out !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, names.out, parts.out, 'config says there is no output projection (outProj: false)');
  }
  return validateWeights(config, stripUndefined(weights));
}

/**
 * From a packed `[3*dOut, dIn]` projection whose rows are `[q; k; v]` (each block head-major):
 * `nn.MultiheadAttention.in_proj_weight`, or seed 004's fused `qkv = nn.Linear(d, 3d)`.
 */
export function fromPackedQkv(
  config: ResolvedMhaConfig,
  packed: { weight: Float32Array; bias?: Float32Array | undefined; out?: TorchLinear | undefined },
  names = { weight: 'in_proj_weight', bias: 'in_proj_bias', out: 'out_proj' },
): MhaWeights {
  const { dIn, dOut } = config;
  const w = expectLength(packed.weight, 3 * dOut * dIn, names.weight, `[3*dOut=${3 * dOut}, dIn=${dIn}]`);
  const weights: MhaWeights = {
    wq: rowsTransposed(w, 0, dOut, dIn),
    wk: rowsTransposed(w, dOut, dOut, dIn),
    wv: rowsTransposed(w, 2 * dOut, dOut, dIn),
  };
  if (config.qkvBias) {
    const b = expectLength(packed.bias, 3 * dOut, names.bias, `[${3 * dOut}]`);
    weights.bq = b.slice(0, dOut);
    weights.bk = b.slice(dOut, 2 * dOut);
    weights.bv = b.slice(2 * dOut);
  } else if (packed.bias !== undefined) {
    throw new MhaError(MhaErrorCode.WeightShape, names.bias, packed.bias, 'config says qkvBias is false');
  }
  if (config.outProj) {
    const o = linear(packed.out, dOut, dOut, names.out, config.outProjBias);
    weights.wo = o.w;
    weights.bo = o.b;
  }
  return validateWeights(config, stripUndefined(weights));
}

/**
 * From `nn.MultiheadAttention(embed_dim, num_heads)`'s parameters (`kdim == vdim == embed_dim`).
 * Config: `{ dIn: E, dOut: E, heads, qkvBias: bias, outProjBias: bias }`.
 */
export function fromTorchMultiheadAttention(
  config: ResolvedMhaConfig,
  p: { inProjWeight: Float32Array; inProjBias?: Float32Array | undefined; outProjWeight: Float32Array; outProjBias?: Float32Array | undefined },
): MhaWeights {
  return fromPackedQkv(config, { weight: p.inProjWeight, bias: p.inProjBias, out: { weight: p.outProjWeight, bias: p.outProjBias } });
}

/** Splits canonical weights into per-head blocks (the book's `MultiHeadAttentionWrapper` view). */
export function toPerHead(config: ResolvedMhaConfig, weights: MhaWeights): HeadWeights[] {
  const w = validateWeights(config, weights);
  const { dIn, dOut, headDim, heads } = config;
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

/**
 * Merges per-head weights (head h's `[dIn, headDim]` blocks) into canonical fused weights: the
 * inverse of {@link toPerHead}. `out` supplies `wo`/`bo` when the config has an output projection.
 */
export function fromPerHead(
  config: ResolvedMhaConfig,
  heads: readonly HeadWeights[],
  out?: { wo: Float32Array; bo?: Float32Array | undefined },
): MhaWeights {
  const { dIn, dOut, headDim } = config;
  if (!Array.isArray(heads) || heads.length !== config.heads) {
    throw new MhaError(MhaErrorCode.WeightShape, 'heads', Array.isArray(heads) ? heads.length : heads, `expected ${config.heads} heads`);
  }
  const wq = new Float32Array(dIn * dOut);
  const wk = new Float32Array(dIn * dOut);
  const wv = new Float32Array(dIn * dOut);
  const bias = config.qkvBias ? [new Float32Array(dOut), new Float32Array(dOut), new Float32Array(dOut)] : undefined;
  heads.forEach((head, h) => {
    const mats = [
      [wq, head.wq, 'wq'],
      [wk, head.wk, 'wk'],
      [wv, head.wv, 'wv'],
    ] as const;
    for (const [dst, src, name] of mats) {
      expectLength(src, dIn * headDim, `heads[${h}].${name}`, `[dIn=${dIn}, headDim=${headDim}]`);
      for (let i = 0; i < dIn; i++) dst.set(src.subarray(i * headDim, (i + 1) * headDim), i * dOut + h * headDim);
    }
    if (bias) {
      (['bq', 'bk', 'bv'] as const).forEach((name, j) => {
        bias[j]!.set(expectLength(head[name], headDim, `heads[${h}].${name}`, `[${headDim}]`), h * headDim);
      });
    }
  });
  const weights: MhaWeights = { wq, wk, wv };
  if (bias) [weights.bq, weights.bk, weights.bv] = bias;
  if (config.outProj) {
    weights.wo = out?.wo;
    weights.bo = out?.bo;
  }
  return validateWeights(config, stripUndefined(weights));
}

/** A state_dict value: a bare Float32Array, or a tensor whose shape is checked too. */
export type StateDictValue = Float32Array | Tensor;

function entry(sd: Readonly<Record<string, StateDictValue>>, key: string, shape: readonly number[] | undefined): Float32Array | undefined {
  const v = sd[key];
  if (v === undefined) return undefined;
  if (v instanceof Float32Array) return v;
  if (shape && (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i]))) {
    throw new MhaError(MhaErrorCode.WeightShape, key, v.shape, `expected shape [${shape.join(',')}]`);
  }
  return v.data;
}

/**
 * From a PyTorch state_dict (names exactly as torch prints them), for the four layouts the seeds use:
 * - `book-wrapper`: `heads.{h}.W_query.weight` ... (`[headDim, dIn]` each), optional `.bias`; no out projection
 * - `book-mha`: `W_query.weight` / `W_key` / `W_value` (`[dOut, dIn]`), `out_proj.weight` / `.bias`
 * - `torch-mha`: `in_proj_weight` (`[3*dOut, dIn]`), `in_proj_bias`, `out_proj.weight`, `out_proj.bias`
 * - `fused-qkv` (seed 004): `qkv.weight` (`[3*dOut, dIn]`), `qkv.bias`, `proj.weight`, `proj.bias`
 *
 * Unknown keys are rejected so a layout mix-up fails loudly.
 */
export function fromTorchStateDict(layout: TorchLayout, config: ResolvedMhaConfig, sd: Readonly<Record<string, StateDictValue>>): MhaWeights {
  const { dIn, dOut, headDim } = config;
  const used = new Set<string>();
  const get = (key: string, shape: readonly number[]): Float32Array | undefined => {
    used.add(key);
    return entry(sd, key, shape);
  };
  const lin = (prefix: string, out: number, inn: number): TorchLinear => ({ weight: get(`${prefix}.weight`, [out, inn])!, bias: get(`${prefix}.bias`, [out]) });
  let weights: MhaWeights;
  switch (layout) {
    case 'book-wrapper': {
      const heads: HeadWeights[] = [];
      for (let h = 0; h < config.heads; h++) {
        const p = (n: string) => linear(lin(`heads.${h}.${n}`, headDim, dIn), headDim, dIn, `heads.${h}.${n}`, config.qkvBias);
        const q = p('W_query');
        const k = p('W_key');
        const v = p('W_value');
        heads.push({ wq: q.w, wk: k.w, wv: v.w, bq: q.b, bk: k.b, bv: v.b });
      }
      if (config.outProj) {
        throw new MhaError(MhaErrorCode.InvalidConfig, 'config.outProj', true, 'the book-wrapper layout has no output projection');
      }
      weights = fromPerHead(config, heads);
      break;
    }
    case 'book-mha':
      weights = fromTorchLinear(
        config,
        {
          query: lin('W_query', dOut, dIn),
          key: lin('W_key', dOut, dIn),
          value: lin('W_value', dOut, dIn),
          out: config.outProj ? lin('out_proj', dOut, dOut) : undefined,
        },
        { query: 'W_query', key: 'W_key', value: 'W_value', out: 'out_proj' },
      );
      break;
    case 'torch-mha':
      weights = fromPackedQkv(config, {
        weight: get('in_proj_weight', [3 * dOut, dIn])!,
        bias: get('in_proj_bias', [3 * dOut]),
        out: config.outProj ? lin('out_proj', dOut, dOut) : undefined,
      });
      break;
    case 'fused-qkv':
      weights = fromPackedQkv(
        config,
        { weight: get('qkv.weight', [3 * dOut, dIn])!, bias: get('qkv.bias', [3 * dOut]), out: config.outProj ? lin('proj', dOut, dOut) : undefined },
        { weight: 'qkv.weight', bias: 'qkv.bias', out: 'proj' },
      );
      break;
    default:
      throw new MhaError(MhaErrorCode.InvalidOption, 'layout', layout, "expected 'book-wrapper' | 'book-mha' | 'torch-mha' | 'fused-qkv'");
  }
  for (const key of Object.keys(sd)) {
    if (!used.has(key)) throw new MhaError(MhaErrorCode.WeightShape, key, sd[key], `unexpected key for layout '${layout}'`);
  }
  return weights;
}

function stripUndefined(w: MhaWeights): MhaWeights {
  const out = { ...w };
  for (const k of Object.keys(out) as (keyof MhaWeights)[]) if (out[k] === undefined) delete out[k];
  return out;
}
