// Test-only helpers: the golden fixtures (fixtures/FORMAT.md), the spec's float32 tolerance, and the
// backend variants every numeric test runs on.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromTorchStateDict, resolveConfig, type MhaConfig, type MhaWeights, type ResolvedMhaConfig, type Tensor, type TorchLayout } from '@mha/core';
import { expect } from 'vitest';
import { createTfjsBackend, type TfjsBackend } from './index.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'golden');

interface StoredTensor {
  shape: number[];
  data: string;
}

/** Base64 little-endian float32 (fixtures/FORMAT.md, "TENSOR") to a tensor. */
function decodeTensor(t: StoredTensor): Tensor {
  const bytes = Buffer.from(t.data, 'base64');
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(4 * i);
  return { data, shape: t.shape };
}

function readJson(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(GOLDEN, `${id}.json`), 'utf8')) as Record<string, unknown>;
}

function decodeAll(o: unknown): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(o as Record<string, StoredTensor>).map(([k, v]) => [k, decodeTensor(v)]));
}

/** Ids of the golden fixtures of one kind, from fixtures/golden/index.json. */
export function goldenIds(kind: 'module' | 'attention'): string[] {
  const index = readJson('index') as { fixtures: { id: string; kind: string }[] };
  return index.fixtures.filter((f) => f.kind === kind).map((f) => f.id);
}

/** A golden module case, weights converted from the torch state dict by core's converter. */
export function goldenModule(id: string): { config: ResolvedMhaConfig; weights: MhaWeights; x: Tensor; output: Tensor; attentionWeights: Tensor } {
  const o = readJson(id);
  const config = resolveConfig(o.config as MhaConfig);
  const expected = decodeAll(o.expected);
  return {
    config,
    weights: fromTorchStateDict(o.weightLayout as TorchLayout, config, decodeAll(o.weights)),
    x: decodeAll(o.inputs).x!,
    output: expected.output!,
    attentionWeights: expected.attentionWeights!,
  };
}

/** A golden core-op case. */
export function goldenAttention(id: string): { q: Tensor; k: Tensor; v: Tensor; options: { causal: boolean; scale: number | null }; output: Tensor; attentionWeights: Tensor } {
  const o = readJson(id);
  const inputs = decodeAll(o.inputs);
  const expected = decodeAll(o.expected);
  return { q: inputs.q!, k: inputs.k!, v: inputs.v!, options: o.options as { causal: boolean; scale: number | null }, output: expected.output!, attentionWeights: expected.attentionWeights! };
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
