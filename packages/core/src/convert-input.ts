// Reading what PyTorch users have (typed arrays, JSON arrays, `{ data, shape }`) into float32, with an
// MhaError naming the field for anything else. Used by the converters only: `forward` and
// `createModule` keep accepting Float32Array alone (SPEC.md, "Errors").
import { MhaError, MhaErrorCode } from './errors.js';
import { checkShape, formatShape, MAX_ELEMENTS, numel, privateCopy, typedArrayKind, typedArrayLength } from './tensor.js';
import { checkFinite } from './validate.js';
import { float32Length } from './weights.js';

/** Plain numbers, possibly nested (`tensor.tolist()` saved as JSON). */
export type NestedNumbers = readonly (number | NestedNumbers)[];

/**
 * One tensor as the converters accept it: a `Float32Array`, a `Float64Array`, a plain (possibly
 * nested) array of numbers, or `{ data, shape }` holding one of those. Everything is converted to
 * float32 (as torch's `.float()`); a value outside the float32 range is refused, not turned into Infinity.
 */
export type TensorLike = Float32Array | Float64Array | NestedNumbers | { readonly data: Float32Array | Float64Array | NestedNumbers; readonly shape: readonly number[] };

/** `obj[key]` if `key` is an own property, else undefined: inherited (polluted) fields are never read. */
export function own(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null && Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Requires a plain object of named parts (not null, not an array, not a typed array). */
export function expectObject(value: unknown, field: string, what: string): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new MhaError(MhaErrorCode.InvalidType, field, value, `expected ${what}`);
  }
  return value;
}

function fromNumbers(get: (i: number) => number, n: number, field: string): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    const f = Math.fround(v);
    if (!Number.isFinite(f)) {
      const why = Number.isFinite(v) ? 'outside the float32 range' : 'weights must be finite';
      throw new MhaError(MhaErrorCode.NonFinite, `${field}[${i}]`, v, why);
    }
    out[i] = f;
  }
  return out;
}

/** Flattens a rectangular nested array of numbers, returning its data and inferred shape. */
function flattenNested(value: readonly unknown[], field: string): { data: Float32Array; shape: number[] } {
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const n = numel(shape);
  if (n > MAX_ELEMENTS) throw new MhaError(MhaErrorCode.InvalidShape, field, shape, `${n} elements exceeds the limit of ${MAX_ELEMENTS}`);
  const flat: number[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw new MhaError(MhaErrorCode.InvalidType, path, node, 'expected a number');
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const got = Array.isArray(node) ? node.length : node;
      throw new MhaError(MhaErrorCode.InvalidShape, path, got, `ragged nested array: expected an array of ${shape[depth]} at depth ${depth} (shape ${formatShape(shape)})`);
    }
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, field);
  return { data: fromNumbers((i) => flat[i]!, flat.length, field), shape };
}

/**
 * Reads one {@link TensorLike} into a fresh Float32Array. `shape` is the declared or inferred shape
 * (`undefined` for a bare flat array, which is checked by length only). Non-finite values are refused
 * here, naming the caller's field (`W_query.weight[3]`), not the converted layout's.
 */
export function readTensor(value: unknown, field: string): { data: Float32Array; shape: readonly number[] | undefined } {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && typedArrayKind(value) === undefined) {
    if (!Object.hasOwn(value, 'data')) {
      throw new MhaError(MhaErrorCode.InvalidType, field, value, 'expected a Float32Array, a Float64Array, an array of numbers, or { data, shape }');
    }
    const shape = own(value, 'shape');
    if (shape === undefined) throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, undefined, 'a { data, shape } tensor needs its shape (or pass the bare array)');
    checkShape(shape, `${field}.shape`);
    const inner = readData(own(value, 'data'), `${field}.data`);
    if (inner.data.length !== numel(shape)) {
      throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, inner.data.length, `expected ${numel(shape)} elements for shape ${formatShape(shape)}`);
    }
    return { data: inner.data, shape: [...shape] };
  }
  return readData(value, field);
}

function readData(value: unknown, field: string): { data: Float32Array; shape: readonly number[] | undefined } {
  const f32 = float32Length(value);
  if (f32 !== undefined) {
    const data = privateCopy(Float32Array, value as Float32Array);
    checkFinite(data, field);
    return { data, shape: undefined };
  }
  if (typedArrayKind(value) === 'Float64Array') {
    const src = value as Float64Array;
    return { data: fromNumbers((i) => src[i]!, typedArrayLength(src), field), shape: undefined };
  }
  if (Array.isArray(value)) {
    // A flat array is like a typed array (length checked); a nested one also carries its shape.
    if (value.length > 0 && Array.isArray(value[0])) return flattenNested(value, field);
    return { data: flattenNested(value, field).data, shape: undefined };
  }
  throw new MhaError(MhaErrorCode.InvalidType, field, value, 'expected a Float32Array, a Float64Array or an array of numbers');
}
