import { readFileSync } from 'node:fs';
import { fromTorchStateDict, MhaError, MhaErrorCode, resolveConfig, type MhaConfig, type MhaWeights, type ResolvedMhaConfig, type Tensor, type TorchLayout } from '@mha/core';

/** What the CLI needs from a module golden fixture (format `mha-fixture/1`, fixtures/FORMAT.md). */
export interface ModuleFixture {
  readonly id: string;
  readonly config: ResolvedMhaConfig;
  readonly weights: MhaWeights;
  readonly x: Tensor;
  readonly output: Tensor;
  readonly attentionWeights: Tensor | undefined;
}

interface RawTensor {
  shape: number[];
  dtype: string;
  data: string;
}

function tensorOf(t: RawTensor | undefined, field: string): Tensor {
  if (!t || t.dtype !== 'float32' || !Array.isArray(t.shape) || typeof t.data !== 'string') {
    throw new MhaError(MhaErrorCode.InvalidType, field, t, 'expected a fixture tensor {shape, dtype: "float32", data}');
  }
  // The shape is checked before anything is sized from it.
  t.shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape[${i}]`, d, 'a dim must be a non-negative integer');
  });
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(4 * n)) throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, t.shape, 'the element count is too large');
  const bytes = Buffer.from(t.data, 'base64');
  if (bytes.length !== 4 * n) throw new MhaError(MhaErrorCode.ShapeMismatch, field, bytes.length, `shape [${t.shape.join(',')}] needs ${4 * n} bytes`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = bytes.readFloatLE(i * 4);
  return { data, shape: t.shape };
}

/** Reads a module fixture file and converts its PyTorch state_dict with `fromTorchStateDict`. */
export function readModuleFixture(path: string): ModuleFixture {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new MhaError(MhaErrorCode.InvalidType, 'fixture', path, `not a readable JSON fixture: ${(e as Error).message}`);
  }
  if (o.format !== 'mha-fixture/1' || o.kind !== 'module') {
    throw new MhaError(MhaErrorCode.InvalidType, 'fixture', path, `expected a module fixture in format mha-fixture/1 (got format ${String(o.format)}, kind ${String(o.kind)})`);
  }
  const config = resolveConfig(o.config as MhaConfig);
  const sd = Object.fromEntries(Object.entries(o.weights as Record<string, RawTensor>).map(([k, v]) => [k, tensorOf(v, `weights.${k}`)]));
  const expected = o.expected as Record<string, RawTensor | undefined>;
  return {
    id: String(o.id),
    config,
    weights: fromTorchStateDict(o.weightLayout as TorchLayout, config, sd),
    x: tensorOf((o.inputs as Record<string, RawTensor>).x, 'inputs.x'),
    output: tensorOf(expected.output, 'expected.output'),
    attentionWeights: expected.attentionWeights ? tensorOf(expected.attentionWeights, 'expected.attentionWeights') : undefined,
  };
}
