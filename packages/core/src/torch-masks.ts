import type { AttentionMask } from './attention-options.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { formatShape, numel, readShape, typedArrayKind } from './tensor.js';

/** Nested booleans or numbers, as `tensor.tolist()` gives them. */
export type NestedMask = readonly (boolean | number | NestedMask)[];

/**
 * A PyTorch mask as a JS user has it: nested arrays from `mask.tolist()` (booleans for a bool mask, numbers
 * for a float mask), or `{ data, shape, dtype? }` with `data` a `Uint8Array` / boolean array (bool), a
 * `Float32Array` / `Float64Array` (float), or plain numbers with `dtype` `'bool'` or `'float32'`.
 */
export type TorchMaskLike =
  | NestedMask
  | { readonly data: Uint8Array | Float32Array | Float64Array | readonly boolean[] | readonly number[]; readonly shape: readonly number[]; readonly dtype?: 'bool' | 'float32' | undefined };

function flatten(v: NestedMask, field: string): { values: (boolean | number)[]; shape: number[] } {
  const shape: number[] = [];
  let level: unknown = v;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const values: (boolean | number)[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== 'boolean' && typeof node !== 'number') throw new MhaError(MhaErrorCode.InvalidType, `${field}${path}`, node, 'expected a boolean or a number');
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) throw new MhaError(MhaErrorCode.InvalidShape, `${field}${path}`, Array.isArray(node) ? node.length : node, `ragged nested array: expected ${shape[depth]} elements`);
    node.forEach((c, i) => walk(c, depth + 1, `${path}[${i}]`));
  };
  walk(v, 0, '');
  return { values, shape };
}

/** Reads a torch mask into `{ bool, values, shape }`; `bool` is decided by the dtype, never guessed from values. */
function readTorchMask(mask: unknown, field: string): { bool: boolean; values: ArrayLike<number | boolean>; shape: number[] } {
  if (Array.isArray(mask)) {
    const { values, shape } = flatten(mask as NestedMask, field);
    const bools = values.filter((x) => typeof x === 'boolean').length;
    if (bools !== 0 && bools !== values.length) throw new MhaError(MhaErrorCode.InvalidType, field, 'mixed booleans and numbers', 'a mask is all booleans (bool mask) or all numbers (float mask)');
    return { bool: values.length > 0 && bools === values.length, values, shape };
  }
  if (typeof mask !== 'object' || mask === null || !Object.hasOwn(mask, 'data') || !Object.hasOwn(mask, 'shape')) {
    throw new MhaError(MhaErrorCode.InvalidType, field, mask, 'expected nested arrays (tensor.tolist()) or { data, shape, dtype? }');
  }
  const o = mask as { data: unknown; shape: unknown; dtype?: unknown };
  const data = o.data;
  const shape = readShape(o.shape, `${field}.shape`);
  const dtype = Object.hasOwn(mask, 'dtype') ? o.dtype : undefined;
  if (dtype !== undefined && dtype !== 'bool' && dtype !== 'float32') throw new MhaError(MhaErrorCode.InvalidOption, `${field}.dtype`, dtype, "expected 'bool' or 'float32'");
  const kind = typedArrayKind(data);
  let bool: boolean;
  if (kind === 'Uint8Array') bool = dtype !== 'float32';
  else if (kind === 'Float32Array' || kind === 'Float64Array') bool = dtype === 'bool';
  else if (Array.isArray(data)) {
    const allBool = data.every((x) => typeof x === 'boolean');
    if (!allBool && !data.every((x) => typeof x === 'number')) throw new MhaError(MhaErrorCode.InvalidType, `${field}.data`, 'mixed or non-numeric elements', 'expected booleans or numbers');
    if (!allBool && dtype === undefined && data.length > 0) throw new MhaError(MhaErrorCode.InvalidOption, `${field}.dtype`, undefined, "plain numbers are ambiguous: give dtype 'bool' or 'float32'");
    bool = (allBool && data.length > 0) || dtype === 'bool';
  } else throw new MhaError(MhaErrorCode.InvalidType, `${field}.data`, kind ?? typeof data, 'expected a Uint8Array, Float32Array, Float64Array or an array');
  const values = data as ArrayLike<number | boolean>;
  if (values.length !== numel(shape)) throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, values.length, `expected ${numel(shape)} elements for shape ${formatShape(shape)}`);
  return { bool, values, shape };
}

function toSpec(bool: boolean, values: ArrayLike<number | boolean>, shape: number[], field: string): AttentionMask {
  if (bool) {
    // PyTorch: True = blocked. SPEC: nonzero = attends. So a torch True becomes 0.
    const data = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = values[i] ? 0 : 1;
    return { kind: 'bool', data, shape };
  }
  const data = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (Number.isNaN(v) || v === Infinity) throw new MhaError(MhaErrorCode.NonFinite, `${field}[${i}]`, v, 'a float mask may hold finite values and -Infinity only');
    data[i] = v;
  }
  return { kind: 'additive', data, shape };
}

/**
 * PyTorch `key_padding_mask` `[B, Tk]` (`nn.MultiheadAttention`: bool **True = padding, ignored**; or float,
 * added) -> the module's `keyPaddingMask` in SPEC polarity (bool **1 = attend**). Float masks are unchanged.
 *
 * @example
 * module.forward(x, { keyPaddingMask: fromTorchKeyPaddingMask([[false, false, true]]) });
 */
export function fromTorchKeyPaddingMask(mask: TorchMaskLike): AttentionMask {
  const { bool, values, shape } = readTorchMask(mask, 'keyPaddingMask');
  if (shape.length !== 2) throw new MhaError(MhaErrorCode.InvalidShape, 'keyPaddingMask.shape', shape, 'expected [B, Tk]');
  return toSpec(bool, values, shape, 'keyPaddingMask');
}

/**
 * PyTorch `attn_mask` (`nn.MultiheadAttention`: `[Tq, Tk]` or `[B*heads, Tq, Tk]`; bool **True = blocked**, or
 * float, added) -> the module's `mask` in SPEC polarity. A 3-D mask is reshaped to `[B, heads, Tq, Tk]`
 * (torch's `B*heads` axis is batch-major, so the data is the same); give `heads` for it.
 *
 * @example
 * const causal = [[false, true], [false, false]]; // torch.triu(ones(2, 2), 1).bool().tolist()
 * module.forward(x, { mask: fromTorchAttnMask(causal) });
 */
export function fromTorchAttnMask(mask: TorchMaskLike, options?: { heads?: number | undefined }): AttentionMask {
  const { bool, values, shape } = readTorchMask(mask, 'attnMask');
  let out = shape;
  if (shape.length === 3) {
    const heads = options?.heads;
    if (typeof heads !== 'number' || !Number.isSafeInteger(heads) || heads <= 0) throw new MhaError(MhaErrorCode.InvalidOption, 'options.heads', heads, 'a 3-D torch attn_mask [B*heads, Tq, Tk] needs the number of heads');
    if (shape[0]! % heads !== 0) throw new MhaError(MhaErrorCode.DimMismatch, 'attnMask.shape[0]', shape[0], `must be B * heads (heads = ${heads})`);
    out = [shape[0]! / heads, heads, shape[1]!, shape[2]!];
  } else if (shape.length !== 2) throw new MhaError(MhaErrorCode.InvalidShape, 'attnMask.shape', shape, 'expected [Tq, Tk] or [B*heads, Tq, Tk]');
  return toSpec(bool, values, out, 'attnMask');
}
