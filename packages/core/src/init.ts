import { resolveConfig, type MhaConfig, type ResolvedMhaConfig } from './config.js';
import { weightShapes, WEIGHT_NAMES, type MhaWeights } from './weights.js';

/**
 * A small seeded PRNG (SplitMix32): the same seed gives the same stream on every JS engine,
 * which `Math.random` cannot promise. Returns floats in `[0, 1)`.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** `n` floats uniform in `[-bound, bound)` from `rand`. */
export function uniformArray(n: number, bound: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * bound;
  return a;
}

/**
 * Deterministic weights for examples and tests, drawn like `nn.Linear`'s default init:
 * uniform in `±1/sqrt(fan_in)` for weights and biases (fan_in = `dIn` for q/k/v, `dOut` for the
 * output projection). Not PyTorch's stream: for PyTorch's numbers use the converters on its weights.
 *
 * @example
 * const w = initWeights({ dIn: 8, dOut: 8, heads: 2 }, 42); // same numbers on every run and engine
 * // (a resolved config works too)
 */
export function initWeights(plain: MhaConfig | ResolvedMhaConfig, seed: number): MhaWeights {
  // A plain config is resolved (and validated) here: unresolved, it has no dOut and would give empty weights.
  const config = resolveConfig(plain);
  const rand = seededRandom(seed);
  const shapes = weightShapes(config);
  const weights: Partial<MhaWeights> = {};
  // weightShapes has a null prototype, so a polluted Object.prototype adds no weight here.
  for (const name of WEIGHT_NAMES) {
    const shape = shapes[name];
    if (!shape) continue;
    const fanIn = name === 'wo' || name === 'bo' ? config.dOut : config.dIn;
    weights[name] = uniformArray(shape.reduce((a, b) => a * b, 1), 1 / Math.sqrt(fanIn), rand);
  }
  return weights as MhaWeights;
}

/** A seeded float32 tensor of standard-ish noise (uniform in `[-1, 1)`) for inputs, times `scale`. */
export function randomTensor(shape: readonly number[], seed: number, scale = 1): { data: Float32Array; shape: number[] } {
  const rand = seededRandom(seed);
  return { data: uniformArray(shape.reduce((a, b) => a * b, 1), scale, rand), shape: [...shape] };
}
