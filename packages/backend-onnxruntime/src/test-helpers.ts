// Test-only helpers: golden fixtures (fixtures/FORMAT.md) and the spec's float32 tolerance.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromTorchStateDict, resolveConfig, type MhaConfig, type MhaWeights, type ResolvedMhaConfig, type Tensor, type TorchLayout } from '@mha/core';
import { expect } from 'vitest';

/** The repository's golden fixtures. */
export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'golden');

interface RawTensor {
  shape: number[];
  data: string;
}

function decode(t: RawTensor): Tensor {
  const buf = Buffer.from(t.data, 'base64');
  const data = new Float32Array(buf.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(i * 4);
  return { data, shape: t.shape };
}

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

function readRaw(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, `${id}.json`), 'utf8')) as Record<string, unknown>;
}

/** Ids of every golden fixture of a kind. */
export function fixtureIds(kind: 'module' | 'attention'): string[] {
  const index = JSON.parse(readFileSync(join(GOLDEN_DIR, 'index.json'), 'utf8')) as { fixtures: { id: string; kind: string }[] };
  return index.fixtures.filter((f) => f.kind === kind).map((f) => f.id);
}

/** Reads a module fixture. */
export function moduleCase(id: string): ModuleCase {
  const o = readRaw(id);
  const config = resolveConfig(o.config as MhaConfig);
  const sd = Object.fromEntries(Object.entries(o.weights as Record<string, RawTensor>).map(([k, v]) => [k, decode(v)]));
  const expected = o.expected as Record<string, RawTensor>;
  return {
    id,
    config,
    weights: fromTorchStateDict(o.weightLayout as TorchLayout, config, sd),
    x: decode((o.inputs as Record<string, RawTensor>).x!),
    expected: { output: decode(expected.output!), attentionWeights: decode(expected.attentionWeights!) },
  };
}

/** Reads a core-op fixture. */
export function attentionCase(id: string): AttentionCase {
  const o = readRaw(id);
  const inputs = o.inputs as Record<string, RawTensor>;
  const expected = o.expected as Record<string, RawTensor>;
  return {
    id,
    q: decode(inputs.q!),
    k: decode(inputs.k!),
    v: decode(inputs.v!),
    options: o.options as AttentionCase['options'],
    expected: { output: decode(expected.output!), attentionWeights: decode(expected.attentionWeights!) },
  };
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
