// Test-only helpers: golden fixtures (fixtures/FORMAT.md) and the spec's float32 tolerance.
import type { MhaWeights, ResolvedMhaConfig, Tensor } from '@mha/core';
import { builtinFixturesDir, loadFixtureDir, type Fixture } from '@mha/conformance';
import { expect } from 'vitest';

/** A module fixture with its weights converted by `fromTorchStateDict`. */
export interface ModuleCase {
  id: string;
  config: ResolvedMhaConfig;
  weights: MhaWeights;
  x: Tensor;
  expected: { output: Tensor; attentionWeights: Tensor };
}

/** A core-op fixture. */
export interface AttentionCase {
  id: string;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  options: { causal: boolean; scale: number | null };
  expected: { output: Tensor; attentionWeights: Tensor };
}

/** The golden fixtures directory. */
export const GOLDEN_DIR = builtinFixturesDir();

/** Golden fixtures, parsed (and weights converted from torch) by the conformance package's loader. */
const GOLDEN = loadFixtureDir(GOLDEN_DIR);

function golden<K extends Fixture['kind']>(id: string, kind: K): Extract<Fixture, { kind: K }> {
  const f = GOLDEN.find((x) => x.id === id);
  if (!f || f.kind !== kind) throw new Error(`no ${kind} fixture ${id}`);
  return f as Extract<Fixture, { kind: K }>;
}

/** Ids of every golden fixture of a kind. */
export function fixtureIds(kind: 'module' | 'attention'): string[] {
  // The largest fixtures store no attention weights; the conformance suite covers them.
  return GOLDEN.filter((f) => f.kind === kind && (f.kind === 'module' ? f.expected.attentionWeights : f.expected.weights)).map((f) => f.id);
}

/** Reads a module fixture. */
export function moduleCase(id: string): ModuleCase {
  const f = golden(id, 'module');
  return { id, config: f.config, weights: f.weights, x: f.x, expected: { output: f.expected.output, attentionWeights: f.expected.attentionWeights! } };
}

/** Reads a core-op fixture. */
export function attentionCase(id: string): AttentionCase {
  const f = golden(id, 'attention');
  return { id, q: f.q, k: f.k, v: f.v, options: f.options, expected: { output: f.expected.output, attentionWeights: f.expected.weights! } };
}

/** Asserts `|a - e| <= 1e-5 + 1e-4 |e|` elementwise (the spec's float32 tolerance), with the worst index in the message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const excess = Math.abs(a - e) - (1e-5 + 1e-4 * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) expect.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]}`);
}
