// Test-only helpers: the golden fixtures (fixtures/FORMAT.md), the spec's float32 tolerance, and the
// backend variants every numeric test runs on.
import type { MhaWeights, ResolvedMhaConfig, Tensor } from '@mha/core';
import { builtinFixturesDir, loadFixtureDir, type Fixture } from '@mha/conformance';
import { expect } from 'vitest';
import { createTfjsBackend, type TfjsBackend } from './index.js';

/** Golden fixtures, parsed (and weights converted from torch) by the conformance package's loader. */
const GOLDEN = loadFixtureDir(builtinFixturesDir());

function golden<K extends Fixture['kind']>(id: string, kind: K): Extract<Fixture, { kind: K }> {
  const f = GOLDEN.find((x) => x.id === id);
  if (!f || f.kind !== kind) throw new Error(`no ${kind} fixture ${id}`);
  return f as Extract<Fixture, { kind: K }>;
}

/** Ids of the golden fixtures of one kind. */
export function goldenIds(kind: 'module' | 'attention'): string[] {
  // The largest fixtures store no attention weights; the conformance suite covers them.
  return GOLDEN.filter((f) => f.kind === kind && (f.kind === 'module' ? f.expected.attentionWeights : f.expected.weights)).map((f) => f.id);
}

/** A golden module case, weights converted from the torch state dict by core's converter. */
export function goldenModule(id: string): { config: ResolvedMhaConfig; weights: MhaWeights; x: Tensor; output: Tensor; attentionWeights: Tensor } {
  const f = golden(id, 'module');
  return { config: f.config, weights: f.weights, x: f.x, output: f.expected.output, attentionWeights: f.expected.attentionWeights! };
}

/** A golden core-op case. */
export function goldenAttention(id: string): { q: Tensor; k: Tensor; v: Tensor; options: { causal: boolean; scale: number | null }; output: Tensor; attentionWeights: Tensor } {
  const f = golden(id, 'attention');
  return { q: f.q, k: f.k, v: f.v, options: f.options, output: f.expected.output, attentionWeights: f.expected.weights! };
}

/**
 * Asserts `|a - e| <= 1e-5 + 1e-4 |e|` for every element: the spec's float32 tolerance (core SPEC.md,
 * "Numeric tolerance") without its `max(1, M)` scaling of atol, so slightly stricter. tfjs computes in
 * float32 with float32 accumulation; a dot product of length n (<= 256 in these tests) carries a relative
 * error up to about n * 2^-24 (1.5e-5) of its terms, typically sqrt(n) * 2^-24, and the float32 torch
 * oracle as much again, so rtol 1e-4 holds with margin; atol 1e-5 covers values that cancel to near zero.
 * NaN never passes.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what}: element count`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= 1e-5 + 1e-4 * Math.abs(e))) expect.fail(`${what}: element ${i} is ${a}, expected ${e}`);
  }
}

/** The four variants every numeric test runs: both Node tfjs backends, both attention layouts. */
export const VARIANTS: readonly TfjsBackend[] = [
  createTfjsBackend({ tfBackend: 'cpu', attentionLayout: 'per-head' }),
  createTfjsBackend({ tfBackend: 'cpu', attentionLayout: 'batched' }),
  createTfjsBackend({ tfBackend: 'wasm', attentionLayout: 'per-head' }),
  createTfjsBackend({ tfBackend: 'wasm', attentionLayout: 'batched' }),
];

/** `tfjs-cpu (per-head)`, for test names. */
export function variantName(b: TfjsBackend): string {
  return `${b.name} (${b.tfjs.attentionLayout})`;
}
