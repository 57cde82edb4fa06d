import { MhaError, MhaErrorCode } from './errors.js';

/**
 * A dense row-major tensor. `data.length` must equal the product of `shape`.
 * Inputs are float32; the float64 reference returns `Float64Array` data.
 */
export interface Tensor<D extends Float32Array | Float64Array = Float32Array> {
  readonly data: D;
  readonly shape: readonly number[];
}

/**
 * Largest element count accepted for one buffer. Checked before allocating so an absurd size
 * gives a typed error instead of an out-of-memory crash. (2^31 - 1 keeps every index a small integer
 * and stays under every engine's typed-array limit.)
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Product of the dims; 1 for a scalar shape `[]`. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2, 6, 3]` -> `"[2,6,3]"`, for messages and test ids. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Convenience constructor: `tensor(new Float32Array(6), [2, 3])`, validating the length. */
export function tensor<D extends Float32Array | Float64Array>(data: D, shape: readonly number[], field = 'tensor'): Tensor<D> {
  checkShape(shape, `${field}.shape`);
  if (data.length !== numel(shape)) {
    throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, data.length, `expected ${numel(shape)} elements for shape ${formatShape(shape)}`);
  }
  return { data, shape: [...shape] };
}

/** Throws unless `shape` is an array of non-negative safe integers whose product is allocatable. */
export function checkShape(shape: unknown, field: string): asserts shape is readonly number[] {
  readShape(shape, field);
}

/**
 * Validates `shape` like {@link checkShape} and returns a fresh copy of it. Each element (and `length`)
 * is read exactly once, so a getter or a Proxy cannot hand validation one shape and the kernel another.
 */
export function readShape(shape: unknown, field: string): number[] {
  if (!Array.isArray(shape)) {
    throw new MhaError(MhaErrorCode.InvalidShape, field, shape, 'shape must be an array of non-negative integers');
  }
  const n = shape.length;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new MhaError(MhaErrorCode.InvalidShape, `${field}[${i}]`, d, 'every dim must be a non-negative integer');
    }
    out.push(d);
  }
  const total = numel(out);
  if (total > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, field, out, `${total} elements exceeds the limit of ${MAX_ELEMENTS}`);
  }
  return out;
}

// The %TypedArray% intrinsics, taken once at load: they read a view's internal slots, so neither a
// Proxy (which has none: `instanceof` passes, every method throws) nor a subclass overriding `length`,
// `buffer` or `byteOffset` can fake them.
const typedArrayProto = Object.getPrototypeOf(Int8Array.prototype) as object;
const intrinsic = (key: PropertyKey) => Object.getOwnPropertyDescriptor(typedArrayProto, key)!.get! as (this: unknown) => unknown;
const taTag = intrinsic(Symbol.toStringTag);
const taLength = intrinsic('length');
const taBuffer = intrinsic('buffer');
const taByteOffset = intrinsic('byteOffset');

/** What a typed array really is, by its internal slots: `'Float32Array'`, `'Uint8Array'`, ...; `undefined` for anything else (a Proxy, a DataView, a plain array). */
export function typedArrayKind(v: unknown): string | undefined {
  return ArrayBuffer.isView(v) ? (taTag.call(v) as string | undefined) : undefined;
}

/** True length of a typed array (0 when its buffer is detached), whatever its `length` property says. */
export function typedArrayLength(v: ArrayBufferView): number {
  return taLength.call(v) as number;
}

/**
 * A plain `Float32Array` / `Uint8Array` view of the same memory as `v` (no copy), built from its internal
 * slots, so downstream code never calls a subclass's overridden accessors. `v` must be of kind `ctor.name`.
 */
export function plainView(ctor: Float32ArrayConstructor, v: ArrayBufferView): Float32Array;
export function plainView(ctor: Uint8ArrayConstructor, v: ArrayBufferView): Uint8Array;
export function plainView(ctor: Int32ArrayConstructor, v: ArrayBufferView): Int32Array;
export function plainView(ctor: BigInt64ArrayConstructor, v: ArrayBufferView): BigInt64Array;
export function plainView(
  ctor: Float32ArrayConstructor | Uint8ArrayConstructor | Int32ArrayConstructor | BigInt64ArrayConstructor,
  v: ArrayBufferView,
): Float32Array | Uint8Array | Int32Array | BigInt64Array {
  const length = typedArrayLength(v);
  // A detached buffer cannot back a new view; a zero-length array needs none.
  if (length === 0) return new ctor(0);
  return new ctor(taBuffer.call(v) as ArrayBuffer, taByteOffset.call(v) as number, length);
}

/**
 * A private, non-shared copy of `v`: a fresh array filled with `.set`, never `.slice()`, which follows
 * `Symbol.species`. A typed array's length comes from its internal slot and `.set` copies from its
 * buffer, so nothing a subclass overrides (`length`, `slice`, `buffer`) runs.
 */
export function privateCopy(ctor: Float32ArrayConstructor, v: ArrayLike<number>): Float32Array;
export function privateCopy(ctor: Uint8ArrayConstructor, v: ArrayLike<number>): Uint8Array;
export function privateCopy(ctor: Float32ArrayConstructor | Uint8ArrayConstructor, v: ArrayLike<number>): Float32Array | Uint8Array {
  const out = new ctor(typedArrayKind(v) === undefined ? v.length : typedArrayLength(v as unknown as ArrayBufferView));
  out.set(v);
  return out;
}
