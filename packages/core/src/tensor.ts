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
  if (!Array.isArray(shape)) {
    throw new MhaError(MhaErrorCode.InvalidShape, field, shape, 'shape must be an array of non-negative integers');
  }
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new MhaError(MhaErrorCode.InvalidShape, `${field}[${i}]`, d, 'every dim must be a non-negative integer');
    }
  }
  const n = numel(shape as number[]);
  if (n > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidShape, field, shape, `${n} elements exceeds the limit of ${MAX_ELEMENTS}`);
  }
}
