// Test-only helper: reads the repo's golden fixtures (fixtures/FORMAT.md) without depending on @mha/conformance.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from './tensor.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'golden');

interface RawTensor {
  shape: number[];
  data: string;
}

function decode(t: RawTensor): Tensor {
  const buf = Buffer.from(t.data, 'base64');
  const f = new Float32Array(buf.length / 4);
  for (let i = 0; i < f.length; i++) f[i] = buf.readFloatLE(i * 4);
  return { data: f, shape: t.shape };
}

export interface RawFixture {
  id: string;
  kind: 'module' | 'attention';
  config: Record<string, unknown>;
  weightLayout?: string;
  weights: Record<string, Tensor>;
  inputs: Record<string, Tensor>;
  options?: { causal: boolean; scale: number | null };
  /** `attentionWeights` is absent from the large fixtures (T >= 300), whose weights would be megabytes. */
  expected: { output: Tensor; attentionWeights: Tensor | undefined };
}

export function fixtureIds(): string[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { fixtures: { id: string }[] };
  return index.fixtures.map((f) => f.id);
}

export function readFixture(id: string): RawFixture {
  const o = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
  const map = (r: Record<string, RawTensor> | undefined) => Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, decode(v)]));
  const expected = o.expected as Record<string, RawTensor>;
  return {
    ...(o as unknown as RawFixture),
    weights: map(o.weights as Record<string, RawTensor>),
    inputs: map(o.inputs as Record<string, RawTensor>),
    expected: { output: decode(expected.output!), attentionWeights: expected.attentionWeights ? decode(expected.attentionWeights) : undefined },
  };
}
