import { MhaError, MhaErrorCode } from './errors.js';
import { MAX_ELEMENTS, type Tensor } from './tensor.js';
import { checkFinite, checkTensor } from './validate.js';

/** Sizes of a {@link KvCache}. */
export interface KvCacheOptions {
  readonly batch: number;
  readonly kvHeads: number;
  /** Most keys it can hold per (batch, head); its memory is allocated once, for this many. */
  readonly capacity: number;
  readonly keyDim: number;
  readonly valueDim: number;
}

function positiveInt(v: unknown, field: string, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (allowZero ? 0 : 1)) throw new MhaError(MhaErrorCode.InvalidConfig, field, v, `must be a ${allowZero ? 'non-negative' : 'positive'} integer`);
  return v;
}

/**
 * A preallocated key/value cache for incremental decoding with the core op: `attention(q, k, v, { cache })`
 * attends the cached keys then the new ones (causal bottom-right aligned, offset = `length`) and appends
 * the new keys/values. Storage is `[B, Hkv, capacity, d]`, allocated once; a step validates (shape,
 * finiteness) and copies only what it appends, never the whole cache. The storage is private: nothing
 * outside reads or writes it except through these methods.
 */
export class KvCache {
  readonly batch: number;
  readonly kvHeads: number;
  readonly capacity: number;
  readonly keyDim: number;
  readonly valueDim: number;
  #length = 0;
  readonly #keys: Float32Array;
  readonly #values: Float32Array;
  /** `[B, capacity]`, 0 = a padding key no query attends (module `validLengths`); allocated on first padding. */
  #valid: Uint8Array | undefined;

  constructor(options: KvCacheOptions) {
    if (typeof options !== 'object' || options === null) throw new MhaError(MhaErrorCode.InvalidType, 'cache', options, 'expected { batch, kvHeads, capacity, keyDim, valueDim }');
    this.batch = positiveInt(options.batch, 'cache.batch');
    this.kvHeads = positiveInt(options.kvHeads, 'cache.kvHeads');
    this.capacity = positiveInt(options.capacity, 'cache.capacity');
    this.keyDim = positiveInt(options.keyDim, 'cache.keyDim');
    this.valueDim = positiveInt(options.valueDim, 'cache.valueDim');
    const rows = this.batch * this.kvHeads * this.capacity;
    if (rows * Math.max(this.keyDim, this.valueDim) > MAX_ELEMENTS) throw new MhaError(MhaErrorCode.InvalidConfig, 'cache.capacity', this.capacity, `the cache would hold more than ${MAX_ELEMENTS} elements`);
    this.#keys = new Float32Array(rows * this.keyDim);
    this.#values = new Float32Array(rows * this.valueDim);
  }

  /** Keys held per (batch, head). */
  get length(): number {
    return this.#length;
  }

  /** Forgets every key (the memory is kept). */
  reset(): void {
    this.#length = 0;
    this.#valid = undefined;
  }

  /** Keeps the first `length` keys (beam search, speculative-decoding rollback). */
  truncate(length: number): void {
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > this.#length) throw new MhaError(MhaErrorCode.InvalidOption, 'length', length, `must be an integer in [0, ${this.#length}]`);
    this.#length = length;
  }

  /**
   * Checks that `k [B, Hkv, n, keyDim]` / `v [B, Hkv, n, valueDim]` fit (shape, finiteness, capacity) without
   * appending; returns their data and `n`. `MHA_CACHE_FULL` (field `k.shape[2]`) when `length + n > capacity`.
   */
  check(k: unknown, v: unknown): { k: Float32Array; v: Float32Array; n: number } {
    const tk = checkTensor(k, 'k', 4);
    const tv = checkTensor(v, 'v', 4);
    const dims: [string, number, number][] = [
      ['k.shape[0]', tk.shape[0]!, this.batch],
      ['k.shape[1]', tk.shape[1]!, this.kvHeads],
      ['k.shape[3]', tk.shape[3]!, this.keyDim],
      ['v.shape[0]', tv.shape[0]!, this.batch],
      ['v.shape[1]', tv.shape[1]!, this.kvHeads],
      ['v.shape[2]', tv.shape[2]!, tk.shape[2]!],
      ['v.shape[3]', tv.shape[3]!, this.valueDim],
    ];
    for (const [field, got, want] of dims) if (got !== want) throw new MhaError(MhaErrorCode.DimMismatch, field, got, `the cache expects ${want}`);
    const n = tk.shape[2]!;
    if (this.#length + n > this.capacity) throw new MhaError(MhaErrorCode.CacheFull, 'k.shape[2]', n, `the cache holds ${this.#length} of ${this.capacity} keys: ${n} more do not fit`);
    checkFinite(tk.data, 'k.data');
    checkFinite(tv.data, 'v.data');
    return { k: tk.data, v: tv.data, n };
  }

  /** Appends `k`/`v` (validated as in {@link KvCache.check}); the cache is unchanged when it throws. */
  append(k: Tensor, v: Tensor): void {
    const c = this.check(k, v);
    this.appendChecked(c.k, c.v, c.n);
  }

  /**
   * @internal Appends data already checked by {@link KvCache.check}; `valid` (`[B, n]`, 0 = padding) marks keys
   * that no later query may attend (module `validLengths`).
   */
  appendChecked(k: Float32Array, v: Float32Array, n: number, valid?: Uint8Array): void {
    const L = this.#length;
    for (let bh = 0; bh < this.batch * this.kvHeads; bh++) {
      this.#keys.set(k.subarray(bh * n * this.keyDim, (bh + 1) * n * this.keyDim), (bh * this.capacity + L) * this.keyDim);
      this.#values.set(v.subarray(bh * n * this.valueDim, (bh + 1) * n * this.valueDim), (bh * this.capacity + L) * this.valueDim);
    }
    if (valid && !this.#valid) this.#valid = new Uint8Array(this.batch * this.capacity).fill(1);
    if (this.#valid) {
      // Positions past `length` may hold a truncated call's flags: every append rewrites its own.
      for (let b = 0; b < this.batch; b++) {
        if (valid) this.#valid.set(valid.subarray(b * n, (b + 1) * n), b * this.capacity + L);
        else this.#valid.fill(1, b * this.capacity + L, b * this.capacity + L + n);
      }
    }
    this.#length = L + n;
  }

  /** True when a padding key (module `validLengths`) lies among the cached ones. */
  get hasPadding(): boolean {
    const valid = this.#valid;
    if (!valid) return false;
    for (let b = 0; b < this.batch; b++) if (valid.subarray(b * this.capacity, b * this.capacity + this.#length).includes(0)) return true;
    return false;
  }

  /**
   * @internal Which keys a call may attend, `[B, length + n]` (0 = padding): the cached flags then `next`
   * (`[B, n]`, undefined = all real); undefined when every key is real.
   */
  keyValidity(next: Uint8Array | undefined, n: number): Uint8Array | undefined {
    if (!next && !this.hasPadding) return undefined;
    const L = this.#length;
    const out = new Uint8Array(this.batch * (L + n)).fill(1);
    for (let b = 0; b < this.batch; b++) {
      if (this.#valid) out.set(this.#valid.subarray(b * this.capacity, b * this.capacity + L), b * (L + n));
      if (next) out.set(next.subarray(b * n, (b + 1) * n), b * (L + n) + L);
    }
    return out;
  }

  /**
   * The cached keys then `extra` new rows, contiguous `[B, Hkv, length + extraRows, d]` (a fresh array), as the
   * kernel reads them: one copy of what is cached, no validation (it was validated when appended).
   */
  gather(which: 'keys' | 'values', extra: Float32Array, extraRows: number): Float32Array {
    const d = which === 'keys' ? this.keyDim : this.valueDim;
    const src = which === 'keys' ? this.#keys : this.#values;
    const L = this.#length;
    const T = L + extraRows;
    const out = new Float32Array(this.batch * this.kvHeads * T * d);
    for (let bh = 0; bh < this.batch * this.kvHeads; bh++) {
      out.set(src.subarray(bh * this.capacity * d, (bh * this.capacity + L) * d), bh * T * d);
      out.set(extra.subarray(bh * extraRows * d, (bh + 1) * extraRows * d), (bh * T + L) * d);
    }
    return out;
  }

  /**
   * @internal The storage itself, `[B, Hkv, capacity, d]` (rows `0..length-1` of each head are the cache), for
   * a kernel that reads it in place during one call (`BackendDefinition.readsKvInPlace`). Never written outside.
   */
  storage(which: 'keys' | 'values'): Float32Array {
    return which === 'keys' ? this.#keys : this.#values;
  }

  /** Copies of the cached keys and values, `[B, Hkv, length, d]` (padding keys included: see `hasPadding`). */
  snapshot(): { key: Tensor; value: Tensor } {
    const B = this.batch;
    const H = this.kvHeads;
    return {
      key: { data: this.gather('keys', new Float32Array(0), 0), shape: [B, H, this.#length, this.keyDim] },
      value: { data: this.gather('values', new Float32Array(0), 0), shape: [B, H, this.#length, this.valueDim] },
    };
  }
}

/**
 * A preallocated KV cache for `attention(q, k, v, { cache })`.
 *
 * @example
 * const cache = createKvCache({ batch: 1, kvHeads: 12, capacity: 2048, keyDim: 64, valueDim: 64 });
 * for (const step of steps) {
 *   const { output } = await backend.attention(step.q, step.k, step.v, { causal: true, cache });
 * }
 */
export function createKvCache(options: KvCacheOptions): KvCache {
  return new KvCache(options);
}

/**
 * A {@link KvCache} sized for `module`'s `forward(x, { cache })`: `[batch, kvHeads, capacity, headDim]`.
 *
 * @example
 * const cache = createModuleCache(module, 1, 2048);
 * await module.forward(prompt, { cache }); // prefill [1, P, dIn]
 * const { output } = await module.forward(nextToken, { cache }); // [1, 1, dIn], attends all P + 1 keys
 */
export function createModuleCache(module: { readonly config: { readonly kvHeads: number; readonly headDim: number } }, batch: number, capacity: number): KvCache {
  const { kvHeads, headDim } = module.config;
  return new KvCache({ batch, kvHeads, capacity, keyDim: headDim, valueDim: headDim });
}
