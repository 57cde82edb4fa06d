import type { AttentionMask, WeightsStage } from './attention-options.js';
import type { ResolvedMhaConfig } from './config.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { KvCache } from './kv-cache.js';
import { MAX_ELEMENTS, privateCopy } from './tensor.js';
import type { ShapeTrace } from './trace.js';
import { checkFinite, checkTensor, optionalBoolOption, ownOptions, STAGES, validateMask, type CausalAlign } from './validate.js';
import { plainView, typedArrayKind } from './tensor.js';

/** Every option `forward` knows, in validation order. */
const FORWARD_KEYS = ['key', 'value', 'mask', 'keyPaddingMask', 'causalAlign', 'returnWeights', 'averageWeights', 'trace', 'returnAttentionWeights', 'weightsStage', 'cache', 'validLengths', 'paddingSide'] as const;

/** A validated module call: the data of every input, the dims and the resolved options. */
export interface ValidModuleCall {
  readonly x: Float32Array;
  readonly batch: number;
  /** Query tokens. */
  readonly tq: number;
  /** Key/value tokens (`tq` for self-attention; with a cache, `cache.length + tq`: the cached keys then the new). */
  readonly tk: number;
  /** True when `key`/`value` were given. */
  readonly cross: boolean;
  /** Key input `[B, Tk, kdim]` (`x` for self-attention). */
  readonly key: Float32Array;
  /** Value input `[B, Tk, vdim]` (`x` for self-attention). */
  readonly value: Float32Array;
  readonly mask: AttentionMask | undefined;
  readonly keyPaddingMask: AttentionMask | undefined;
  readonly causalAlign: CausalAlign;
  readonly returnWeights: boolean;
  readonly averageWeights: boolean;
  readonly trace: boolean;
  /** What `weights` holds (`options.weightsStage`, default `'softmax'`). */
  readonly weightsStage: WeightsStage;
  /** The module's KV cache (`options.cache`): its keys are the past, the call appends the new tokens' keys/values. */
  readonly cache: KvCache | undefined;
  /** With a cache and `validLengths`: `[B, tq]`, 0 where a new token is padding; else undefined. */
  readonly newTokenValid: Uint8Array | undefined;
}

/**
 * Validates a module's `forward(x, options)` against its config. Reads each own option once; options are
 * checked before `x` (unknown keys and flag types first), then `x`, `key`/`value` and the masks.
 */
export function validateModuleCall(config: ResolvedMhaConfig, x: unknown, options: unknown): ValidModuleCall {
  const o = ownOptions(options, 'options', FORWARD_KEYS);
  const trace = optionalBoolOption(o, 'trace', 'options');
  const legacy = o.returnAttentionWeights === undefined ? undefined : optionalBoolOption(o, 'returnAttentionWeights', 'options');
  const current = o.returnWeights === undefined ? undefined : optionalBoolOption(o, 'returnWeights', 'options');
  if (legacy !== undefined && current !== undefined && legacy !== current) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.returnAttentionWeights', legacy, `contradicts options.returnWeights (${String(current)}); returnAttentionWeights is a deprecated alias, give one`);
  }
  const returnWeights = current ?? legacy ?? false;
  const averageWeights = optionalBoolOption(o, 'averageWeights', 'options');
  const rawAlign = o.causalAlign;
  if (rawAlign !== undefined && rawAlign !== 'top-left' && rawAlign !== 'bottom-right') {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.causalAlign', rawAlign, "expected 'top-left' or 'bottom-right'");
  }
  const causalAlign: CausalAlign = rawAlign ?? 'top-left';

  let weightsStage: WeightsStage = 'softmax';
  if (o.weightsStage !== undefined) {
    if (!STAGES.includes(o.weightsStage as WeightsStage)) throw new MhaError(MhaErrorCode.InvalidOption, 'options.weightsStage', o.weightsStage, `expected one of ${STAGES.join(', ')}`);
    if (!returnWeights) throw new MhaError(MhaErrorCode.InvalidOption, 'options.weightsStage', o.weightsStage, 'needs returnWeights: true');
    weightsStage = o.weightsStage as WeightsStage;
  }

  const t = checkTensor(x, 'x', 3);
  const [batch, tq, dIn] = t.shape as [number, number, number];
  if (dIn !== config.dIn) throw new MhaError(MhaErrorCode.DimMismatch, 'x.shape[2]', dIn, `config.dIn is ${config.dIn}`);
  if (batch * tq * config.dOut > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, 'x.shape', t.shape, `the output would hold ${batch * tq * config.dOut} elements, over ${MAX_ELEMENTS}`);
  }
  let key = t.data;
  let value = t.data;
  let tk = tq;
  const cross = o.key !== undefined || o.value !== undefined;
  // The cache first: its length sets the key axis that masks and weights cover.
  const cache = o.cache === undefined ? undefined : validateModuleCache(config, o.cache, { batch, tq, cross, rawAlign });
  if (cache) tk = cache.length + tq;
  const newTokenValid = readValidLengths(o, batch, tq, cache !== undefined);
  if (cross) {
    if (o.key === undefined) throw new MhaError(MhaErrorCode.InvalidOption, 'options.key', undefined, 'options.value was given: give options.key [B, Tk, kdim] too');
    if (o.value === undefined) throw new MhaError(MhaErrorCode.InvalidOption, 'options.value', undefined, 'options.key was given: give options.value [B, Tk, vdim] too');
    const k = checkTensor(o.key, 'options.key', 3);
    const v = checkTensor(o.value, 'options.value', 3);
    const [kb, kt, kd] = k.shape as [number, number, number];
    const [vb, vt, vd] = v.shape as [number, number, number];
    if (kb !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'options.key.shape[0]', kb, `x has batch ${batch}`);
    if (kd !== config.kdim) throw new MhaError(MhaErrorCode.DimMismatch, 'options.key.shape[2]', kd, `config.kdim is ${config.kdim}`);
    if (vb !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'options.value.shape[0]', vb, `x has batch ${batch}`);
    if (vt !== kt) throw new MhaError(MhaErrorCode.DimMismatch, 'options.value.shape[1]', vt, `options.key has ${kt} tokens`);
    if (vd !== config.vdim) throw new MhaError(MhaErrorCode.DimMismatch, 'options.value.shape[2]', vd, `config.vdim is ${config.vdim}`);
    key = k.data;
    value = v.data;
    tk = kt;
  } else {
    if (config.kdim !== config.dIn) throw new MhaError(MhaErrorCode.InvalidOption, 'options.key', undefined, `config.kdim (${config.kdim}) differs from dIn (${config.dIn}): give options.key and options.value`);
    if (config.vdim !== config.dIn) throw new MhaError(MhaErrorCode.InvalidOption, 'options.value', undefined, `config.vdim (${config.vdim}) differs from dIn (${config.dIn}): give options.key and options.value`);
  }
  const mask = o.mask === undefined ? undefined : validateMask(o.mask, [batch, config.heads, tq, tk], 'options.mask');
  // The core op accepts a key axis shorter than Tk (ONNX pads it); a module mask covers every key or broadcasts.
  if (mask && mask.shape[mask.shape.length - 1] !== tk && mask.shape[mask.shape.length - 1] !== 1) {
    throw new MhaError(MhaErrorCode.DimMismatch, `options.mask.shape[${mask.shape.length - 1}]`, mask.shape[mask.shape.length - 1], `must be Tk = ${tk} or 1`);
  }
  let keyPaddingMask: AttentionMask | undefined;
  if (o.keyPaddingMask !== undefined) {
    keyPaddingMask = validateMask(o.keyPaddingMask, [batch, tk], 'options.keyPaddingMask');
    if (keyPaddingMask.shape.length !== 2) throw new MhaError(MhaErrorCode.InvalidShape, 'options.keyPaddingMask.shape', keyPaddingMask.shape, 'expected [B, Tk]');
    if (keyPaddingMask.shape[1] !== tk && keyPaddingMask.shape[1] !== 1) throw new MhaError(MhaErrorCode.DimMismatch, 'options.keyPaddingMask.shape[1]', keyPaddingMask.shape[1], `must be Tk = ${tk} or 1`);
  }
  if (returnWeights && batch * config.heads * tq * tk > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, 'x.shape[1]', tq, `attention weights [${batch}, ${config.heads}, ${tq}, ${tk}] would exceed ${MAX_ELEMENTS} elements; call forward without returnWeights`);
  }
  checkFinite(t.data, 'x.data');
  if (cross) {
    checkFinite(key, 'options.key.data');
    checkFinite(value, 'options.value.data');
  }
  // With a cache, the whole causal rule is bottom-right (offset = cache length).
  const align: CausalAlign = cache ? 'bottom-right' : causalAlign;
  return { x: t.data, batch, tq, tk, cross, key, value, mask, keyPaddingMask, causalAlign: align, returnWeights, averageWeights, trace, weightsStage, cache, newTokenValid };
}

/**
 * Reads `options.validLengths` / `options.paddingSide` (SPEC.md, "Module KV cache") into a `[B, tq]` flag
 * array (0 = padding), or undefined when not given. Only with a cache.
 */
function readValidLengths(o: Readonly<Record<string, unknown>>, batch: number, tq: number, cached: boolean): Uint8Array | undefined {
  const side = o.paddingSide;
  if (side !== undefined && side !== 'left' && side !== 'right') throw new MhaError(MhaErrorCode.InvalidOption, 'options.paddingSide', side, "expected 'left' or 'right'");
  const raw = o.validLengths;
  if (raw === undefined) {
    if (side !== undefined) throw new MhaError(MhaErrorCode.InvalidOption, 'options.paddingSide', side, 'needs options.validLengths');
    return undefined;
  }
  if (!cached) throw new MhaError(MhaErrorCode.InvalidOption, 'options.validLengths', 'without cache', 'validLengths marks padding among the tokens a cache keeps: give options.cache (without one, use keyPaddingMask)');
  const kind = typedArrayKind(raw);
  let values: unknown[];
  if (Array.isArray(raw)) values = [...(raw as unknown[])];
  else if (kind === 'Int32Array') values = [...plainView(Int32Array, raw as Int32Array)];
  else throw new MhaError(MhaErrorCode.InvalidType, 'options.validLengths', kind ?? raw, 'expected a number[] or Int32Array');
  if (values.length !== batch) throw new MhaError(MhaErrorCode.DimMismatch, 'options.validLengths.length', values.length, `x has batch ${batch}`);
  const out = new Uint8Array(batch * tq);
  values.forEach((n, b) => {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > tq) throw new MhaError(MhaErrorCode.InvalidOption, `options.validLengths[${b}]`, n, `must be an integer in [0, ${tq}] (the new token count)`);
    if (side === 'left') out.fill(1, b * tq + tq - n, (b + 1) * tq);
    else out.fill(1, b * tq, b * tq + n);
  });
  return out;
}

/**
 * Checks `options.cache` of a module call (SPEC.md, "Module KV cache"): a {@link KvCache} of the module's
 * `[B, kvHeads, capacity, headDim]`, on a causal self-attention module, with room for `Tq` more keys. The
 * cache's alignment is bottom-right (query `i` sees keys `j <= length + i`).
 */
function validateModuleCache(config: ResolvedMhaConfig, raw: unknown, c: { batch: number; tq: number; cross: boolean; rawAlign: unknown }): KvCache {
  if (!(raw instanceof KvCache)) throw new MhaError(MhaErrorCode.InvalidType, 'options.cache', raw, 'expected a KvCache (createModuleCache(module, batch, capacity))');
  if (!config.causal) throw new MhaError(MhaErrorCode.InvalidOption, 'config.causal', config.causal, 'options.cache decodes causally: build the module with causal: true');
  if (c.cross) throw new MhaError(MhaErrorCode.InvalidOption, 'options.key', 'with options.cache', 'a module cache holds self-attention keys: no options.key/options.value with it');
  if (c.rawAlign === 'top-left') throw new MhaError(MhaErrorCode.InvalidOption, 'options.causalAlign', 'top-left', 'a cache is bottom-right aligned (offset = cache length)');
  const dims: [string, number, number][] = [
    ['options.cache.batch', raw.batch, c.batch],
    ['options.cache.kvHeads', raw.kvHeads, config.kvHeads],
    ['options.cache.keyDim', raw.keyDim, config.headDim],
    ['options.cache.valueDim', raw.valueDim, config.headDim],
  ];
  for (const [field, got, want] of dims) if (got !== want) throw new MhaError(MhaErrorCode.DimMismatch, field, got, `the module expects ${want}`);
  if (raw.length + c.tq > raw.capacity) throw new MhaError(MhaErrorCode.CacheFull, 'x.shape[1]', c.tq, `the cache holds ${raw.length} of ${raw.capacity} keys: ${c.tq} more do not fit`);
  return raw;
}

/** True when a call needs core's lowering rather than the plain self-attention module kernel. */
export function needsLowering(config: ResolvedMhaConfig, call: ValidModuleCall): boolean {
  return (
    call.cache !== undefined ||
    config.kvHeads !== config.heads ||
    config.kdim !== config.dIn ||
    config.vdim !== config.dIn ||
    call.cross ||
    call.mask !== undefined ||
    call.keyPaddingMask !== undefined ||
    call.weightsStage !== 'softmax'
  );
}

/** Causal offset: query `i` sees keys `j <= i + offset` (0 top-left; `Tk - Tq` bottom-right). */
export function moduleCausalOffset(call: Pick<ValidModuleCall, 'causalAlign' | 'tq' | 'tk'>): number {
  return call.causalAlign === 'bottom-right' ? call.tk - call.tq : 0;
}

/**
 * The one mask the core op receives for a module call: the attention mask, the key-padding mask and a
 * bottom-right causal mask combined, materialised as `[B, Hm, Tq, Tk]` (`Hm` = heads when the attention
 * mask varies per head, else 1). Bool when every part is bool (AND); otherwise additive: a bool part
 * blocks with `-Infinity` and additive parts are summed in float32, as PyTorch merges `key_padding_mask`
 * into `attn_mask`. Returns `causal: true` (and no mask) when the core op's own top-left causal covers it.
 * `keyValid` (`[B, Tk]`, 0 = a padding key of a module cache) hides keys like a bool key-padding mask.
 * Built synchronously, into fresh memory: nothing of the caller's is kept.
 */
export function combinedMask(config: ResolvedMhaConfig, call: ValidModuleCall, keyValid?: Uint8Array): { mask: AttentionMask | undefined; causal: boolean } {
  const { mask, keyPaddingMask: kpm, batch: B, tq, tk } = call;
  const offset = moduleCausalOffset(call);
  // Causal hides nothing when row 0 already sees every key (one new token over a cache): no mask to build.
  const causal = config.causal && offset < tk - 1;
  if (!mask && !kpm && !keyValid && (!causal || offset === 0)) return { mask: undefined, causal };
  const additive = mask?.kind === 'additive' || kpm?.kind === 'additive';
  const full = [1, 1, 1, 1];
  if (mask) mask.shape.forEach((d, i) => (full[4 - mask.shape.length + i] = d));
  const hm = full[1] === 1 ? 1 : config.heads;
  const n = B * hm * tq * tk;
  const out = additive ? new Float32Array(n) : new Uint8Array(n);
  const mStrides = mask ? strides(full, [B, hm, tq, tk]) : undefined;
  const kb = kpm && kpm.shape[0] !== 1 ? tk : 0;
  const kj = kpm && kpm.shape[1] !== 1 ? 1 : 0;
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < hm; h++) {
      for (let i = 0; i < tq; i++) {
        for (let j = 0; j < tk; j++, o++) {
          let blocked = causal && j > i + offset;
          let add = 0;
          if (!blocked && mask && mStrides) {
            const m = mask.data[b * mStrides[0] + h * mStrides[1] + i * mStrides[2] + j * mStrides[3]]!;
            if (mask.kind === 'bool') blocked = m === 0;
            else add = m;
          }
          if (!blocked && keyValid) blocked = keyValid[b * tk + j] === 0;
          if (!blocked && kpm) {
            const m = kpm.data[b * kb + j * kj]!;
            if (kpm.kind === 'bool') blocked = m === 0;
            else add = Math.fround(add + m);
          }
          if (additive) out[o] = blocked ? -Infinity : add;
          else out[o] = blocked ? 0 : 1;
        }
      }
    }
  }
  return { mask: { kind: additive ? 'additive' : 'bool', data: out, shape: [B, hm, tq, tk] }, causal: false };
}

function strides(full: number[], target: number[]): [number, number, number, number] {
  const s = [0, 0, 0, 0] as [number, number, number, number];
  let acc = 1;
  for (let i = 3; i >= 0; i--) {
    s[i] = full[i] === 1 && target[i] !== 1 ? 0 : acc;
    acc *= full[i]!;
  }
  return s;
}

/** Private copies of a call's inputs (x, key, value), made during the call, for kernels that read later. */
export function privateInputs(call: ValidModuleCall): ValidModuleCall {
  const x = privateCopy(Float32Array, call.x);
  return { ...call, x, key: call.cross ? privateCopy(Float32Array, call.key) : x, value: call.cross ? privateCopy(Float32Array, call.value) : x };
}

/**
 * The shape trace of a module call. Self-attention with `kvHeads = heads` gives exactly
 * `expectedTrace(config, B, T)`; otherwise `k`/`v` are `[B, kvHeads, Tk, headDim]`, scores and weights
 * `[B, heads, Tq, Tk]`, and there is no `qkv` step (q and k/v differ in length or heads, so no one
 * `[B, T, 3, heads, headDim]` view exists).
 */
export function moduleTrace(config: ResolvedMhaConfig, batch: number, tq: number, tk: number): ShapeTrace {
  const { dIn, heads: H, kvHeads: Hkv, headDim: dh, dOut } = config;
  const trace: { step: ShapeTrace[number]['step']; shape: number[] }[] = [{ step: 'input', shape: [batch, tq, dIn] }];
  if (tq === tk && H === Hkv) trace.push({ step: 'qkv', shape: [batch, tq, 3, H, dh] });
  trace.push(
    { step: 'q', shape: [batch, H, tq, dh] },
    { step: 'k', shape: [batch, Hkv, tk, dh] },
    { step: 'v', shape: [batch, Hkv, tk, dh] },
    { step: 'scores', shape: [batch, H, tq, tk] },
    { step: 'weights', shape: [batch, H, tq, tk] },
    { step: 'context', shape: [batch, H, tq, dh] },
    { step: 'merged', shape: [batch, tq, dOut] },
    { step: 'output', shape: [batch, tq, dOut] },
  );
  return trace;
}

/** Per-head weights `[B, H, Tq, Tk]` averaged over heads to `[B, Tq, Tk]` (summed in float64, rounded once). */
export function averageHeads(w: ArrayLike<number>, B: number, H: number, tq: number, tk: number): Float32Array {
  const out = new Float32Array(B * tq * tk);
  const plane = tq * tk;
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < plane; p++) {
      let s = 0;
      for (let h = 0; h < H; h++) s += w[(b * H + h) * plane + p]!;
      out[b * plane + p] = s / H;
    }
  }
  return out;
}
