import type { AttentionMask, AttentionOptions } from './attention-options.js';
import type { ResolvedMhaConfig } from './config.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { checkShape, formatShape, MAX_ELEMENTS, numel, type Tensor } from './tensor.js';

/** Options of a module's `forward`. */
export interface ForwardOptions {
  /** Also return the attention weights `[B, heads, T, T]`. Default `false`. */
  returnAttentionWeights?: boolean | undefined;
  /** Also return the {@link ShapeTrace} of the pass. Default `false`. */
  trace?: boolean | undefined;
}

/** A validated module input: `x` is `[batch, tokens, dIn]` float32. */
export interface ValidInput {
  readonly x: Float32Array;
  readonly batch: number;
  readonly tokens: number;
}

/** Throws unless `t` is `{ data: Float32Array, shape }` with matching length. */
export function checkTensor(t: unknown, field: string, rank?: number): asserts t is Tensor {
  if (typeof t !== 'object' || t === null || !('data' in t) || !('shape' in t)) {
    throw new MhaError(MhaErrorCode.InvalidType, field, t, 'expected a tensor { data: Float32Array, shape: number[] }');
  }
  const { data, shape } = t as { data: unknown; shape: unknown };
  if (!(data instanceof Float32Array)) {
    const got = ArrayBuffer.isView(data) ? data.constructor.name : Array.isArray(data) ? 'Array' : typeof data;
    throw new MhaError(MhaErrorCode.InvalidType, `${field}.data`, got, 'must be a Float32Array (convert with Float32Array.from(...))');
  }
  checkShape(shape, `${field}.shape`);
  if (rank !== undefined && shape.length !== rank) {
    throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, shape, `expected rank ${rank}`);
  }
  if (data.length !== numel(shape)) {
    throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, data.length, `expected ${numel(shape)} elements for shape ${formatShape(shape)}`);
  }
}

function optionalBoolOption(options: Record<string, unknown>, key: string, field: string): boolean {
  const v = options[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, `${field}.${key}`, v, 'must be a boolean');
  return v;
}

function checkOptionsObject(options: unknown, field: string, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new MhaError(MhaErrorCode.InvalidType, field, options, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new MhaError(MhaErrorCode.InvalidOption, `${field}.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${known.join(', ')}`);
  }
  return options as Record<string, unknown>;
}

/**
 * Throws `MHA_NON_FINITE` at the first NaN / +-Infinity in `data`. One linear pass: negligible next to
 * the projections that read every element `3 * dOut` times, and it makes every backend behave alike
 * instead of each propagating NaN in its own way.
 */
export function checkFinite(data: Float32Array, field: string): void {
  // Branch-free pass over the bits: an exponent of all ones (NaN or +-Infinity) plus one exponent step
  // carries into bit 31, which the OR keeps. About 1.7x faster than a float test; only when it trips
  // does a second pass find the element to name.
  const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
  let acc = 0;
  for (let i = 0; i < bits.length; i++) acc |= (bits[i]! & 0x7f800000) + 0x00800000;
  if (acc >= 0) return;
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i]! & 0x7f800000) === 0x7f800000) {
      throw new MhaError(MhaErrorCode.NonFinite, `${field}[${i}]`, data[i], 'inputs and weights must be finite');
    }
  }
}

/** Validated {@link ForwardOptions} with defaults filled. */
export function resolveForwardOptions(options: unknown): Required<{ [K in keyof ForwardOptions]: boolean }> {
  const o = checkOptionsObject(options, 'options', ['returnAttentionWeights', 'trace']);
  return { returnAttentionWeights: optionalBoolOption(o, 'returnAttentionWeights', 'options'), trace: optionalBoolOption(o, 'trace', 'options') };
}

/**
 * Validates a module input against the config. Policy for empty inputs: `B = 0` or `T = 0` is
 * valid and yields empty outputs of the right shapes (as PyTorch does); no kernel runs.
 */
export function validateInput(config: ResolvedMhaConfig, x: unknown): ValidInput {
  checkTensor(x, 'x', 3);
  const [batch, tokens, dIn] = x.shape as [number, number, number];
  if (dIn !== config.dIn) {
    throw new MhaError(MhaErrorCode.DimMismatch, 'x.shape[2]', dIn, `config.dIn is ${config.dIn}`);
  }
  if (batch * tokens * config.dOut > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, 'x.shape', x.shape, `the output would hold ${batch * tokens * config.dOut} elements, over ${MAX_ELEMENTS}`);
  }
  checkFinite(x.data, 'x.data');
  return { x: x.data, batch, tokens };
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
}

/** Validates the core op's inputs (`q [B,Hq,Tq,dk]`, `k [B,Hkv,Tk,dk]`, `v [B,Hkv,Tk,dv]`) and options. */
export function validateAttention(q: unknown, k: unknown, v: unknown, options: unknown): ValidAttention {
  checkTensor(q, 'q', 4);
  checkTensor(k, 'k', 4);
  checkTensor(v, 'v', 4);
  const [batch, qHeads, tq, dk] = q.shape as [number, number, number, number];
  const [kb, kvHeads, tk, kd] = k.shape as [number, number, number, number];
  const [vb, vh, vt, dv] = v.shape as [number, number, number, number];
  if (kb !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'k.shape[0]', kb, `q has batch ${batch}`);
  if (vb !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'v.shape[0]', vb, `q has batch ${batch}`);
  if (kd !== dk) throw new MhaError(MhaErrorCode.DimMismatch, 'k.shape[3]', kd, `q has head size ${dk}`);
  if (vh !== kvHeads) throw new MhaError(MhaErrorCode.DimMismatch, 'v.shape[1]', vh, `k has ${kvHeads} heads`);
  if (vt !== tk) throw new MhaError(MhaErrorCode.DimMismatch, 'v.shape[2]', vt, `k has ${tk} keys`);
  if (kvHeads === 0 ? qHeads !== 0 : qHeads % kvHeads !== 0) {
    throw new MhaError(MhaErrorCode.DimMismatch, 'k.shape[1]', kvHeads, `must divide the ${qHeads} query heads (grouped-query attention)`);
  }
  const o = checkOptionsObject(options, 'options', ['causal', 'scale', 'mask', 'softcap', 'returnWeights']);
  const causal = optionalBoolOption(o, 'causal', 'options');
  const returnWeights = optionalBoolOption(o, 'returnWeights', 'options');
  let scale = 1 / Math.sqrt(dk);
  if (o.scale !== undefined && o.scale !== null) {
    if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) throw new MhaError(MhaErrorCode.InvalidOption, 'options.scale', o.scale, 'must be a finite number');
    scale = o.scale;
  }
  let softcap = 0;
  if (o.softcap !== undefined) {
    if (typeof o.softcap !== 'number' || !Number.isFinite(o.softcap) || o.softcap < 0) {
      throw new MhaError(MhaErrorCode.InvalidOption, 'options.softcap', o.softcap, 'must be a finite number >= 0 (0 = off)');
    }
    softcap = o.softcap;
  }
  const mask = o.mask === undefined ? undefined : validateMask(o.mask, [batch, qHeads, tq, tk]);
  if (returnWeights && batch * qHeads * tq * tk > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, 'q.shape', q.shape, `the attention weights would hold ${batch * qHeads * tq * tk} elements, over ${MAX_ELEMENTS}`);
  }
  checkFinite(q.data, 'q.data');
  checkFinite(k.data, 'k.data');
  checkFinite(v.data, 'v.data');
  const defaultScale = o.scale === undefined || o.scale === null;
  return { q: q.data, k: k.data, v: v.data, batch, qHeads, kvHeads, tq, tk, dk, dv, causal, scale, defaultScale, softcap, mask, returnWeights };
}

function validateMask(mask: unknown, target: readonly number[]): AttentionMask {
  if (typeof mask !== 'object' || mask === null) throw new MhaError(MhaErrorCode.InvalidType, 'options.mask', mask, 'expected { kind, data, shape }');
  const m = mask as AttentionMask;
  if (m.kind !== 'bool' && m.kind !== 'additive') throw new MhaError(MhaErrorCode.InvalidOption, 'options.mask.kind', m.kind, "expected 'bool' or 'additive'");
  const want = m.kind === 'bool' ? Uint8Array : Float32Array;
  if (!(m.data instanceof want)) throw new MhaError(MhaErrorCode.InvalidType, 'options.mask.data', m.data, `a ${m.kind} mask needs a ${want.name}`);
  checkShape(m.shape, 'options.mask.shape');
  if (m.shape.length < 2 || m.shape.length > 4) throw new MhaError(MhaErrorCode.InvalidShape, 'options.mask.shape', m.shape, 'expected rank 2 to 4');
  if (m.data.length !== numel(m.shape)) throw new MhaError(MhaErrorCode.ShapeMismatch, 'options.mask.data', m.data.length, `expected ${numel(m.shape)} elements`);
  // An additive mask may hold -Infinity (masked out); NaN or +Infinity would poison the softmax.
  if (m.kind === 'additive') {
    for (let i = 0; i < m.data.length; i++) {
      const v = m.data[i]!;
      if (Number.isNaN(v) || v === Infinity) throw new MhaError(MhaErrorCode.NonFinite, `options.mask.data[${i}]`, v, 'an additive mask may hold finite values and -Infinity only');
    }
  }
  const offset = target.length - m.shape.length;
  m.shape.forEach((d, i) => {
    const t = target[offset + i]!;
    if (d !== t && d !== 1) throw new MhaError(MhaErrorCode.DimMismatch, `options.mask.shape[${i}]`, d, `cannot broadcast to ${formatShape(target)} (need ${t} or 1)`);
  });
  return m;
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
