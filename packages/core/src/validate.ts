import type { AttentionMask, AttentionOptions, WeightsStage } from './attention-options.js';
import type { ResolvedMhaConfig } from './config.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { KvCache } from './kv-cache.js';
import type { Tensor } from './tensor.js';
import { formatShape, MAX_ELEMENTS, numel, plainView, readShape, typedArrayKind, typedArrayLength } from './tensor.js';

/** How a causal mask lines up queries and keys when `Tq != Tk` (SPEC.md, "Causal mask"). */
export type CausalAlign = 'top-left' | 'bottom-right';

/**
 * Options of a module's `forward(x, options)`. `x` is the query input `[B, Tq, dIn]`; without `key`/`value`
 * the module is self-attention (`Tk = Tq`). Masks use SPEC polarity (bool: nonzero attends); PyTorch's
 * opposite polarity converts with `fromTorchKeyPaddingMask` / `fromTorchAttnMask`.
 */
export interface ForwardOptions {
  /** Key input `[B, Tk, kdim]` (cross-attention). Give `value` too. */
  key?: Tensor | undefined;
  /** Value input `[B, Tk, vdim]` (cross-attention). Give `key` too. */
  value?: Tensor | undefined;
  /** Attention mask broadcast right-aligned to `[B, heads, Tq, Tk]` (rank 2-4), bool or additive. */
  mask?: AttentionMask | undefined;
  /** Key-padding mask `[B, Tk]`: bool (nonzero = a real key, 0 = padding) or additive. */
  keyPaddingMask?: AttentionMask | undefined;
  /** Alignment of `config.causal` when `Tq != Tk`: `'top-left'` (default) or `'bottom-right'` (offset `Tk - Tq`). */
  causalAlign?: CausalAlign | undefined;
  /** Also return the attention weights `[B, heads, Tq, Tk]` (as `weights`). Default `false`. */
  returnWeights?: boolean | undefined;
  /** With `returnWeights`: average the weights over heads, `[B, Tq, Tk]` (PyTorch `average_attn_weights=True`). */
  averageWeights?: boolean | undefined;
  /** Also return the {@link ShapeTrace} of the pass. Default `false`. */
  trace?: boolean | undefined;
  /** @deprecated Use `returnWeights` (the core op's name); kept until the next major. */
  returnAttentionWeights?: boolean | undefined;
  /**
   * With `returnWeights`: which score stage `weights` holds (the core op's ONNX `qk_matmul_output_mode` 0-3):
   * `'scores'` (`scale * q k^T`), `'softcapped'` (the same for a module: no soft-cap), `'masked'` (every mask,
   * causal and padding rule applied, `-Infinity` where hidden) or `'softmax'` (default, the attention weights).
   */
  weightsStage?: WeightsStage | undefined;
  /**
   * Incremental decoding (causal self-attention modules): a {@link KvCache} of `[B, kvHeads, capacity, headDim]`
   * (`createModuleCache`). `x` holds only the new tokens; they attend the cached keys and each other, causal
   * bottom-right (offset = `cache.length`), and their keys/values are appended. The call's key axis is then
   * `Tk = cache.length + Tq`: `mask` `[.., Tq, Tk]`, `keyPaddingMask` `[B, Tk]` and the weights cover the
   * cached keys then the new ones. Not with `key`/`value` or `causalAlign: 'top-left'`.
   */
  cache?: KvCache | undefined;
  /**
   * With `cache`: per batch row, how many of the `Tq` new tokens are real (length `B`, integers in `[0, Tq]`);
   * the others are padding, at the start of the row (`paddingSide: 'left'`) or its end (`'right'`, default).
   * Padding tokens are kept in the cache (rows stay aligned) but no query of this call or a later one
   * attends them, as ONNX `nonpad_kv_seqlen` hides an external cache's tail.
   */
  validLengths?: readonly number[] | Int32Array | undefined;
  /** Where the padding of `validLengths` lies in each row: `'right'` (default) or `'left'`. */
  paddingSide?: 'left' | 'right' | undefined;
}

/** A validated module input: `x` is `[batch, tokens, dIn]` float32. */
export interface ValidInput {
  readonly x: Float32Array;
  readonly batch: number;
  readonly tokens: number;
}

/**
 * Validates a tensor and returns what it checked: a plain `Float32Array` view of the caller's memory
 * and a copy of the shape. `t.data` and `t.shape` are read exactly once (a getter could otherwise hand
 * validation one array and the kernel another); use the returned values, never `t` again.
 * The data's kind is read from its internal slots: a Proxy of a Float32Array, or a subclass whose
 * `length` lies, gets an `MhaError` or its true length, never a `TypeError` from deep inside a kernel.
 */
export function checkTensor(t: unknown, field: string, rank?: number): { data: Float32Array; shape: number[] } {
  if (typeof t !== 'object' || t === null || !('data' in t) || !('shape' in t)) {
    throw new MhaError(MhaErrorCode.InvalidType, field, t, 'expected a tensor { data: Float32Array, shape: number[] }');
  }
  const data: unknown = (t as { data: unknown }).data;
  const rawShape: unknown = (t as { shape: unknown }).shape;
  const kind = typedArrayKind(data);
  if (kind !== 'Float32Array') {
    const got = kind ?? (Array.isArray(data) ? 'Array' : typeof data);
    throw new MhaError(MhaErrorCode.InvalidType, `${field}.data`, got, 'must be a Float32Array (convert with Float32Array.from(...))');
  }
  const shape = readShape(rawShape, `${field}.shape`);
  if (rank !== undefined && shape.length !== rank) {
    throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, shape, `expected rank ${rank}`);
  }
  const length = typedArrayLength(data as Float32Array);
  if (length !== numel(shape)) {
    throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, length, `expected ${numel(shape)} elements for shape ${formatShape(shape)}${length === 0 ? ' (a detached buffer has 0)' : ''}`);
  }
  return { data: plainView(Float32Array, data as Float32Array), shape };
}

export function optionalBoolOption(options: Readonly<Record<string, unknown>>, key: string, field: string): boolean {
  const v = options[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, `${field}.${key}`, v, 'must be a boolean');
  return v;
}

/**
 * The known options of `options`, each own property read exactly once into a prototype-less record.
 * Inherited properties are ignored: a polluted `Object.prototype.causal` must not switch causal on.
 */
export function ownOptions(options: unknown, field: string, known: readonly string[]): Readonly<Record<string, unknown>> {
  const out = Object.create(null) as Record<string, unknown>;
  if (options === undefined) return out;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new MhaError(MhaErrorCode.InvalidType, field, options, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new MhaError(MhaErrorCode.InvalidOption, `${field}.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${known.join(', ')}`);
  }
  for (const key of known) if (Object.hasOwn(options, key)) out[key] = (options as Record<string, unknown>)[key];
  return out;
}

/**
 * Index of the first NaN / +-Infinity in `data`, or -1. Branch-free pass over the bits: an exponent of
 * all ones (NaN or +-Infinity) plus one exponent step carries into bit 31, which the OR keeps. About
 * 1.7x faster than a float test; only when it trips does a second pass find the element.
 */
export function firstNonFinite(data: Float32Array): number {
  const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
  let acc = 0;
  for (let i = 0; i < bits.length; i++) acc |= (bits[i]! & 0x7f800000) + 0x00800000;
  if (acc >= 0) return -1;
  for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/**
 * Throws `MHA_NON_FINITE` at the first NaN / +-Infinity in `data`. One linear pass: negligible next to
 * the projections that read every element `3 * dOut` times, and it makes every backend behave alike
 * instead of each propagating NaN in its own way.
 */
export function checkFinite(data: Float32Array, field: string): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new MhaError(MhaErrorCode.NonFinite, `${field}[${i}]`, data[i], 'inputs and weights must be finite');
}

/**
 * The two flags a module kernel receives, from options that hold only `returnAttentionWeights` / `trace`.
 * `forward` itself validates every {@link ForwardOptions} field with `validateModuleCall`.
 */
export function resolveForwardOptions(options: unknown): { returnAttentionWeights: boolean; trace: boolean } {
  const o = ownOptions(options, 'options', ['returnAttentionWeights', 'trace']);
  return { returnAttentionWeights: optionalBoolOption(o, 'returnAttentionWeights', 'options'), trace: optionalBoolOption(o, 'trace', 'options') };
}

/**
 * Validates a module input against the config. Policy for empty inputs: `B = 0` or `T = 0` is
 * valid and yields empty outputs of the right shapes (as PyTorch does); no kernel runs.
 */
export function validateInput(config: ResolvedMhaConfig, x: unknown): ValidInput {
  const t = checkTensor(x, 'x', 3);
  const [batch, tokens, dIn] = t.shape as [number, number, number];
  if (dIn !== config.dIn) {
    throw new MhaError(MhaErrorCode.DimMismatch, 'x.shape[2]', dIn, `config.dIn is ${config.dIn}`);
  }
  if (batch * tokens * config.dOut > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, 'x.shape', t.shape, `the output would hold ${batch * tokens * config.dOut} elements, over ${MAX_ELEMENTS}`);
  }
  checkFinite(t.data, 'x.data');
  return { x: t.data, batch, tokens };
}

/** Dimensions of a validated core-op call. */
export interface AttentionDims {
  readonly batch: number;
  readonly qHeads: number;
  readonly kvHeads: number;
  readonly tq: number;
  readonly tk: number;
  readonly dk: number;
  readonly dv: number;
}

/** A validated core-op call: tensors' data, dims and resolved options. */
export interface ValidAttention extends AttentionDims {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly causal: boolean;
  readonly scale: number;
  /** True when no scale was given and `scale` is the default `1/sqrt(dk)` (exporters can omit the attribute). */
  readonly defaultScale: boolean;
  readonly softcap: number;
  readonly mask: AttentionMask | undefined;
  readonly returnWeights: boolean;
  /**
   * Rows stored per (batch, KV head) in `k` / `v` (undefined: `tk`, contiguous `[B, Hkv, tk, d]`): the keys
   * of head `(b, h)` are rows `0..tk-1` of `k[((b * Hkv + h) * kvRowsPerHead + j) * dk]`. Only a backend that
   * sets `readsKvInPlace` receives a larger value: a module cache's storage `[B, Hkv, capacity, d]` in place.
   */
  readonly kvRowsPerHead?: number | undefined;
}

/**
 * A validated public core-op call: {@link ValidAttention} of the new keys (`k`, `v`, `tk` = new key count)
 * plus the cache inputs and the weights stage. `mask` is checked against `[B, Hq, Tq, P + Tk]` and its last
 * dim may be shorter (ONNX padding with `-Infinity`). Core lowers it to a plain {@link ValidAttention}
 * for the kernel (`lowerAttention`).
 */
export interface ValidAttentionCall extends ValidAttention {
  /** `[B, Hkv, P, dk]`, or undefined without a past. */
  readonly pastKey: Float32Array | undefined;
  /** `[B, Hkv, P, dv]`, or undefined without a past. */
  readonly pastValue: Float32Array | undefined;
  /** `P` (0 without a past). */
  readonly pastLength: number;
  /** Valid keys per batch row, or undefined. */
  readonly nonpadKvSeqlen: readonly number[] | undefined;
  /** The cache whose `length` keys are the past (then `pastKey`/`pastValue` are undefined); core appends `k`/`v` to it. */
  readonly cache: KvCache | undefined;
  readonly weightsStage: WeightsStage;
}

/** Every {@link WeightsStage}, in ONNX `qk_matmul_output_mode` order. */
export const STAGES: readonly WeightsStage[] = ['scores', 'softcapped', 'masked', 'softmax'];

/** Largest finite float32: a `scale` or `softcap` beyond it cannot be represented by a float32 kernel. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Validates the core op's inputs (`q [B,Hq,Tq,dk]`, `k [B,Hkv,Tk,dk]`, `v [B,Hkv,Tk,dv]`) and options.
 * Each tensor and option is read once; only own properties of `options` (and of its mask) count.
 */
export function validateAttention(q: unknown, k: unknown, v: unknown, options: unknown): ValidAttentionCall {
  const tq_ = checkTensor(q, 'q', 4);
  const tk_ = checkTensor(k, 'k', 4);
  const tv_ = checkTensor(v, 'v', 4);
  const [batch, qHeads, tq, dk] = tq_.shape as [number, number, number, number];
  const [kb, kvHeads, tk, kd] = tk_.shape as [number, number, number, number];
  const [vb, vh, vt, dv] = tv_.shape as [number, number, number, number];
  if (kb !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'k.shape[0]', kb, `q has batch ${batch}`);
  if (vb !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'v.shape[0]', vb, `q has batch ${batch}`);
  if (kd !== dk) throw new MhaError(MhaErrorCode.DimMismatch, 'k.shape[3]', kd, `q has head size ${dk}`);
  if (vh !== kvHeads) throw new MhaError(MhaErrorCode.DimMismatch, 'v.shape[1]', vh, `k has ${kvHeads} heads`);
  if (vt !== tk) throw new MhaError(MhaErrorCode.DimMismatch, 'v.shape[2]', vt, `k has ${tk} keys`);
  if (kvHeads === 0 ? qHeads !== 0 : qHeads % kvHeads !== 0) {
    throw new MhaError(MhaErrorCode.DimMismatch, 'k.shape[1]', kvHeads, `must divide the ${qHeads} query heads (grouped-query attention)`);
  }
  const o = ownOptions(options, 'options', ['causal', 'scale', 'mask', 'softcap', 'returnWeights', 'weightsStage', 'pastKey', 'pastValue', 'nonpadKvSeqlen', 'cache']);
  const causal = optionalBoolOption(o, 'causal', 'options');
  const returnWeights = optionalBoolOption(o, 'returnWeights', 'options');
  // dk = 0: every score is an empty dot product, 0 whatever the scale (SPEC.md, "Core op"); 1 keeps the
  // default finite instead of 1/sqrt(0).
  let scale = dk === 0 ? 1 : 1 / Math.sqrt(dk);
  const rawScale = o.scale;
  if (rawScale !== undefined && rawScale !== null) {
    if (typeof rawScale !== 'number' || !Number.isFinite(rawScale)) throw new MhaError(MhaErrorCode.InvalidOption, 'options.scale', rawScale, 'must be a finite number');
    if (Math.abs(rawScale) > FLOAT32_MAX) throw new MhaError(MhaErrorCode.InvalidOption, 'options.scale', rawScale, `must lie within the float32 range (|scale| <= ${FLOAT32_MAX})`);
    scale = rawScale;
  }
  let softcap = 0;
  const rawSoftcap = o.softcap;
  if (rawSoftcap !== undefined) {
    if (typeof rawSoftcap !== 'number' || !Number.isFinite(rawSoftcap) || rawSoftcap < 0) {
      throw new MhaError(MhaErrorCode.InvalidOption, 'options.softcap', rawSoftcap, 'must be a finite number >= 0 (0 = off)');
    }
    if (rawSoftcap > FLOAT32_MAX) throw new MhaError(MhaErrorCode.InvalidOption, 'options.softcap', rawSoftcap, `must lie within the float32 range (<= ${FLOAT32_MAX})`);
    softcap = rawSoftcap;
  }
  let weightsStage: WeightsStage = 'softmax';
  if (o.weightsStage !== undefined) {
    if (!STAGES.includes(o.weightsStage as WeightsStage)) throw new MhaError(MhaErrorCode.InvalidOption, 'options.weightsStage', o.weightsStage, `expected one of ${STAGES.join(', ')}`);
    if (!returnWeights) throw new MhaError(MhaErrorCode.InvalidOption, 'options.weightsStage', o.weightsStage, 'needs returnWeights: true');
    weightsStage = o.weightsStage as WeightsStage;
  }
  if ((o.pastKey === undefined) !== (o.pastValue === undefined)) {
    const missing = o.pastKey === undefined ? 'pastKey' : 'pastValue';
    throw new MhaError(MhaErrorCode.InvalidOption, `options.${missing}`, undefined, 'pastKey and pastValue go together');
  }
  let pastKey: { data: Float32Array; shape: number[] } | undefined;
  let pastValue: { data: Float32Array; shape: number[] } | undefined;
  let pastLength = 0;
  if (o.pastKey !== undefined) {
    pastKey = checkTensor(o.pastKey, 'options.pastKey', 4);
    pastValue = checkTensor(o.pastValue, 'options.pastValue', 4);
    const [pb, ph, pt, pd] = pastKey.shape as [number, number, number, number];
    const [vb2, vh2, vt2, vd2] = pastValue.shape as [number, number, number, number];
    const want = (got: number, field: string, exp: number, what: string) => {
      if (got !== exp) throw new MhaError(MhaErrorCode.DimMismatch, field, got, what);
    };
    want(pb, 'options.pastKey.shape[0]', batch, `q has batch ${batch}`);
    want(ph, 'options.pastKey.shape[1]', kvHeads, `k has ${kvHeads} heads`);
    want(pd, 'options.pastKey.shape[3]', dk, `k has head size ${dk}`);
    want(vb2, 'options.pastValue.shape[0]', batch, `q has batch ${batch}`);
    want(vh2, 'options.pastValue.shape[1]', kvHeads, `v has ${kvHeads} heads`);
    want(vt2, 'options.pastValue.shape[2]', pt, `pastKey has ${pt} keys`);
    want(vd2, 'options.pastValue.shape[3]', dv, `v has head size ${dv}`);
    pastLength = pt;
  }
  let cache: KvCache | undefined;
  if (o.cache !== undefined) {
    if (!(o.cache instanceof KvCache)) throw new MhaError(MhaErrorCode.InvalidType, 'options.cache', o.cache, 'expected a KvCache (createKvCache)');
    if (pastKey) throw new MhaError(MhaErrorCode.InvalidOption, 'options.cache', 'with pastKey', 'give the past either as a cache or as pastKey/pastValue');
    cache = o.cache;
    // The core op has no per-key padding: hiding those keys silently or attending them would both surprise.
    if (cache.hasPadding) throw new MhaError(MhaErrorCode.InvalidOption, 'options.cache', 'with padding', 'the cache holds padding keys (module forward validLengths): the core op cannot hide them; use it through module.forward');
    const dims: [string, number, number][] = [
      ['options.cache.batch', cache.batch, batch],
      ['options.cache.kvHeads', cache.kvHeads, kvHeads],
      ['options.cache.keyDim', cache.keyDim, dk],
      ['options.cache.valueDim', cache.valueDim, dv],
    ];
    for (const [field, got, want] of dims) if (got !== want) throw new MhaError(MhaErrorCode.DimMismatch, field, got, `k/v need ${want}`);
    if (cache.length + tk > cache.capacity) throw new MhaError(MhaErrorCode.CacheFull, 'k.shape[2]', tk, `the cache holds ${cache.length} of ${cache.capacity} keys: ${tk} more do not fit`);
    pastLength = cache.length;
  }
  const total = pastLength + tk;
  let nonpadKvSeqlen: number[] | undefined;
  if (o.nonpadKvSeqlen !== undefined) {
    if (pastKey || cache) throw new MhaError(MhaErrorCode.InvalidOption, 'options.nonpadKvSeqlen', 'with pastKey', 'nonpadKvSeqlen describes an external cache in k/v; it cannot be combined with pastKey (ONNX Attention-24)');
    nonpadKvSeqlen = readNonpad(o.nonpadKvSeqlen, batch, tk);
  }
  if (total > MAX_ELEMENTS) throw new MhaError(MhaErrorCode.InvalidShape, 'options.pastKey.shape', pastKey?.shape, `past + new keys (${total}) exceed ${MAX_ELEMENTS}`);
  const mask = o.mask === undefined ? undefined : validateMask(o.mask, [batch, qHeads, tq, total]);
  if (returnWeights && batch * qHeads * tq * total > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, 'q.shape', tq_.shape, `the attention weights would hold ${batch * qHeads * tq * total} elements, over ${MAX_ELEMENTS}`);
  }
  checkFinite(tq_.data, 'q.data');
  checkFinite(tk_.data, 'k.data');
  checkFinite(tv_.data, 'v.data');
  if (pastKey && pastValue) {
    checkFinite(pastKey.data, 'options.pastKey.data');
    checkFinite(pastValue.data, 'options.pastValue.data');
  }
  const defaultScale = rawScale === undefined || rawScale === null;
  return {
    q: tq_.data,
    k: tk_.data,
    v: tv_.data,
    batch,
    qHeads,
    kvHeads,
    tq,
    tk,
    dk,
    dv,
    causal,
    scale,
    defaultScale,
    softcap,
    mask,
    returnWeights,
    pastKey: pastKey?.data,
    pastValue: pastValue?.data,
    pastLength,
    nonpadKvSeqlen,
    cache,
    weightsStage,
  };
}

/** Reads `nonpadKvSeqlen` once into plain numbers: length `batch`, integers in `[0, tk]`. */
function readNonpad(raw: unknown, batch: number, tk: number): number[] {
  const kind = typedArrayKind(raw);
  let values: unknown[];
  if (Array.isArray(raw)) values = [...(raw as unknown[])];
  else if (kind === 'Int32Array' || kind === 'BigInt64Array') values = kind === 'Int32Array' ? [...plainView(Int32Array, raw as Int32Array)] : [...plainView(BigInt64Array, raw as BigInt64Array)];
  else throw new MhaError(MhaErrorCode.InvalidType, 'options.nonpadKvSeqlen', kind ?? raw, 'expected a number[], Int32Array or BigInt64Array');
  if (values.length !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'options.nonpadKvSeqlen.length', values.length, `q has batch ${batch}`);
  return values.map((v, b) => {
    const n = typeof v === 'bigint' ? (v >= 0n && v <= BigInt(tk) ? Number(v) : -1) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > tk) throw new MhaError(MhaErrorCode.InvalidOption, `options.nonpadKvSeqlen[${b}]`, v, `must be an integer in [0, ${tk}] (the key count)`);
    return n;
  });
}

function ownField(o: object, key: string): unknown {
  return Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

/**
 * Validates a mask (named `field` in errors: `options.mask`, `options.keyPaddingMask`), reading its own `kind`, `data` and `shape` once each; returns a fresh mask of what was checked.
 */
export function validateMask(mask: unknown, target: readonly number[], field = 'options.mask'): AttentionMask {
  if (typeof mask !== 'object' || mask === null) throw new MhaError(MhaErrorCode.InvalidType, field, mask, 'expected { kind, data, shape }');
  const kind = ownField(mask, 'kind');
  const rawData = ownField(mask, 'data');
  const rawShape = ownField(mask, 'shape');
  if (kind !== 'bool' && kind !== 'additive') throw new MhaError(MhaErrorCode.InvalidOption, `${field}.kind`, kind, "expected 'bool' or 'additive'");
  const want = kind === 'bool' ? Uint8Array : Float32Array;
  if (typedArrayKind(rawData) !== want.name) throw new MhaError(MhaErrorCode.InvalidType, `${field}.data`, typedArrayKind(rawData) ?? rawData, `a ${kind} mask needs a ${want.name}`);
  const shape = readShape(rawShape, `${field}.shape`);
  if (shape.length < 2 || shape.length > 4) throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, shape, 'expected rank 2 to 4');
  const length = typedArrayLength(rawData as ArrayBufferView);
  if (length !== numel(shape)) throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, length, `expected ${numel(shape)} elements`);
  const data = kind === 'bool' ? plainView(Uint8Array, rawData as Uint8Array) : plainView(Float32Array, rawData as Float32Array);
  // An additive mask may hold -Infinity (masked out); NaN or +Infinity would poison the softmax.
  if (kind === 'additive') {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (Number.isNaN(v) || v === Infinity) throw new MhaError(MhaErrorCode.NonFinite, `${field}.data[${i}]`, v, 'an additive mask may hold finite values and -Infinity only');
    }
  }
  const offset = target.length - shape.length;
  shape.forEach((d, i) => {
    const t = target[offset + i]!;
    // The key axis may be shorter than the key count: ONNX pads it with -Infinity (masked).
    if (i === shape.length - 1 && d < t) return;
    if (d !== t && d !== 1) throw new MhaError(MhaErrorCode.DimMismatch, `${field}.shape[${i}]`, d, `cannot broadcast to ${formatShape(target)} (need ${t} or 1)`);
  });
  return { kind, data, shape };
}

/**
 * Element strides of a mask broadcast to `[B, Hq, Tq, Tk]` (0 on broadcast dims), so a kernel
 * reads `data[b*s0 + h*s1 + i*s2 + j*s3]` without materialising the broadcast.
 */
export function maskStrides(mask: AttentionMask, target: readonly [number, number, number, number]): [number, number, number, number] {
  const full = [1, 1, 1, 1];
  const offset = 4 - mask.shape.length;
  mask.shape.forEach((d, i) => (full[offset + i] = d));
  const strides = [0, 0, 0, 0] as [number, number, number, number];
  let s = 1;
  for (let i = 3; i >= 0; i--) {
    strides[i] = full[i] === 1 && target[i] !== 1 ? 0 : s;
    s *= full[i]!;
  }
  return strides;
}
