// Test-only: reads the repo's golden PyTorch fixtures (fixtures/FORMAT.md, format mha-fixture/1).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttentionOptions, Tensor } from '@mha/core';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'fixtures', 'golden');

interface RawTensor {
  readonly shape: number[];
  readonly dtype: string;
  readonly data: string;
}

/** One decoded fixture. */
export interface GoldenFixture {
  readonly id: string;
  readonly kind: 'module' | 'attention';
  readonly config: Record<string, unknown>;
  readonly weightLayout?: string;
  readonly weights: Record<string, Tensor>;
  readonly inputs: Record<string, Tensor>;
  readonly options?: { causal: boolean; scale: number | null };
  /** `attentionWeights` is absent from the largest fixtures (fixtures/FORMAT.md). */
  readonly expected: { output: Tensor; attentionWeights: Tensor | undefined };
}

/** Little-endian float32 base64 -> Float32Array (copied, so alignment never matters). */
function decode(t: RawTensor): Tensor {
  if (t.dtype !== 'float32') throw new Error(`unexpected dtype ${t.dtype}`);
  const bytes = Buffer.from(t.data, 'base64');
  const data = new Float32Array(bytes.length / 4);
  new Uint8Array(data.buffer).set(bytes);
  return { data, shape: t.shape };
}

/** Ids listed in `fixtures/golden/index.json`. */
export function goldenIds(): string[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { fixtures: { id: string }[] };
  return index.fixtures.map((f) => f.id);
}

/** Reads and decodes `fixtures/golden/<id>.json`. */
export function readGolden(id: string): GoldenFixture {
  const raw = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
  const tensors = (r: unknown) => Object.fromEntries(Object.entries((r ?? {}) as Record<string, RawTensor>).map(([k, v]) => [k, decode(v)]));
  const expected = raw.expected as Record<string, RawTensor>;
  return {
    id: raw.id as string,
    kind: raw.kind as 'module' | 'attention',
    config: raw.config as Record<string, unknown>,
    weightLayout: raw.weightLayout as string | undefined,
    weights: tensors(raw.weights),
    inputs: tensors(raw.inputs),
    options: raw.options as GoldenFixture['options'],
    expected: { output: decode(expected.output!), attentionWeights: expected.attentionWeights ? decode(expected.attentionWeights) : undefined },
  };
}

/** The fixture's core-op options in the {@link AttentionOptions} form. */
export function attentionOptions(f: GoldenFixture): AttentionOptions {
  return { causal: f.options?.causal ?? false, scale: f.options?.scale ?? null, returnWeights: true };
}
