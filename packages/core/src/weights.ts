import type { ResolvedMhaConfig } from './config.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { privateCopy, typedArrayKind, typedArrayLength } from './tensor.js';
import { checkFinite } from './validate.js';

/**
 * The canonical weight layout, the same for every backend. All matrices are row-major float32
 * in **[in, out]** orientation (`y = x @ W + b`, the math convention, ONNX `MatMul` order):
 *
 * | field | shape | meaning |
 * |---|---|---|
 * | `wq` | `[dIn, dOut]` | query projection; columns `h*headDim .. (h+1)*headDim-1` belong to head `h` |
 * | `wk`, `wv` | `[kdim, kvHeads*headDim]`, `[vdim, kvHeads*headDim]` | key/value projections (`[dIn, dOut]` by default) |
 * | `bq`, `bk`, `bv` | `[dOut]`, `[kvHeads*headDim]` x2 | present iff `config.qkvBias` |
 * | `wo` | `[dOut, dOut]` | output projection; present iff `config.outProj` |
 * | `bo` | `[dOut]` | present iff `config.outProjBias` |
 *
 * PyTorch `nn.Linear.weight` is `[out, in]`: convert with {@link fromTorchLinear} and friends
 * (see `convert.ts`), never by reinterpreting the buffer.
 */
export interface MhaWeights {
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  bq?: Float32Array | undefined;
  bk?: Float32Array | undefined;
  bv?: Float32Array | undefined;
  wo?: Float32Array | undefined;
  bo?: Float32Array | undefined;
}

/** Name of one weight tensor in {@link MhaWeights}. */
export type WeightName = keyof MhaWeights;

/** Every weight name in canonical order. */
export const WEIGHT_NAMES: readonly WeightName[] = ['wq', 'wk', 'wv', 'bq', 'bk', 'bv', 'wo', 'bo'];

/**
 * Shapes of the weights a config needs; a name absent from the result must be absent from the weights.
 *
 * @example
 * weightShapes(resolveConfig({ dIn: 3, dOut: 2, heads: 2 })).wq; // [3, 2]
 */
export function weightShapes(config: ResolvedMhaConfig): Partial<Record<WeightName, readonly number[]>> {
  const { dIn, dOut, kdim, vdim } = config;
  const dKv = config.kvHeads * config.headDim;
  // Null prototype: `shapes.bq` of a config without biases is undefined even if Object.prototype is polluted.
  const shapes: Partial<Record<WeightName, readonly number[]>> = Object.assign(Object.create(null) as object, { wq: [dIn, dOut], wk: [kdim, dKv], wv: [vdim, dKv] });
  if (config.qkvBias) Object.assign(shapes, { bq: [dOut], bk: [dKv], bv: [dKv] });
  if (config.outProj) shapes.wo = [dOut, dOut];
  if (config.outProjBias) shapes.bo = [dOut];
  return shapes;
}

/** The element count of a genuine Float32Array (any realm, subclasses included, not a Proxy), else undefined. */
export function float32Length(value: unknown): number | undefined {
  return typedArrayKind(value) === 'Float32Array' ? typedArrayLength(value as Float32Array) : undefined;
}

/**
 * Checks that `weights` matches `config` exactly: every required weight present, a Float32Array
 * with the right element count, finite; nothing extra present. Reads each own property once
 * (inherited fields are ignored) and returns a frozen object of **fresh copies**, so nothing the
 * caller does later (swapping a field, writing an array, a Proxy or a subclass answering differently
 * on a second read) can reach a built module.
 */
export function validateWeights(config: ResolvedMhaConfig, weights: MhaWeights): Readonly<MhaWeights> {
  if (typeof weights !== 'object' || weights === null) {
    throw new MhaError(MhaErrorCode.InvalidType, 'weights', weights, 'must be an object of Float32Arrays');
  }
  const shapes = weightShapes(config);
  for (const name of Object.keys(weights)) {
    if (!(WEIGHT_NAMES as readonly string[]).includes(name)) {
      throw new MhaError(MhaErrorCode.WeightShape, `weights.${name}`, (weights as unknown as Record<string, unknown>)[name], `unknown weight name; expected one of ${WEIGHT_NAMES.join(', ')}`);
    }
  }
  const given: Partial<Record<WeightName, unknown>> = Object.create(null) as object; // absent stays absent
  for (const name of WEIGHT_NAMES) if (Object.hasOwn(weights, name)) given[name] = weights[name];
  // Null prototype: a kernel reading an absent `bq` gets undefined even if Object.prototype is polluted.
  const out: Partial<MhaWeights> = Object.create(null) as object;
  for (const name of WEIGHT_NAMES) {
    const w = given[name];
    const shape = shapes[name];
    if (shape === undefined) {
      if (w !== undefined) {
        throw new MhaError(MhaErrorCode.WeightShape, `weights.${name}`, w, `not used by this config (${explainAbsent(name)}); remove it or change the config`);
      }
      continue;
    }
    if (w === undefined) {
      throw new MhaError(MhaErrorCode.WeightShape, `weights.${name}`, undefined, `missing; expected Float32Array of shape [${shape.join(',')}]`);
    }
    const length = float32Length(w);
    if (length === undefined) {
      throw new MhaError(MhaErrorCode.InvalidType, `weights.${name}`, w, 'must be a Float32Array (a Proxy or look-alike is not one)');
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (length !== n) {
      throw new MhaError(MhaErrorCode.WeightShape, `weights.${name}`, length, `expected ${n} elements for shape [${shape.join(',')}]`);
    }
    const copy = privateCopy(Float32Array, w as Float32Array);
    checkFinite(copy, `weights.${name}`);
    out[name] = copy;
  }
  return Object.freeze(out as MhaWeights);
}

function explainAbsent(name: WeightName): string {
  if (name === 'bq' || name === 'bk' || name === 'bv') return 'qkvBias is false';
  if (name === 'wo') return 'outProj is false';
  return 'outProjBias is false';
}

/**
 * Parameter count of a config: the number of scalars in its weights.
 * Multi-head adds none over one head of the same total width: `heads`/`headDim` only split `dOut`.
 */
export function parameterCount(config: ResolvedMhaConfig): number {
  const shapes = weightShapes(config);
  let total = 0;
  for (const shape of Object.values(shapes)) total += shape.reduce((a, b) => a * b, 1);
  return total;
}
