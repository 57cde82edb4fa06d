import {
  fromTorchStateDict,
  MhaError,
  MhaErrorCode,
  resolveConfig,
  type MhaWeights,
  type ResolvedMhaConfig,
  type Tensor,
  type TorchLayout,
} from '@mha/core';

/** A tensor as stored in a fixture file: little-endian float32, base64. */
export interface FixtureTensorJSON {
  shape: number[];
  dtype: 'float32';
  data: string;
}

/** A module-level golden case (format `mha-fixture/1`, see fixtures/FORMAT.md). */
export interface ModuleFixture {
  readonly kind: 'module';
  readonly id: string;
  readonly description: string;
  readonly oracle: string;
  readonly seed: number | undefined;
  readonly config: ResolvedMhaConfig;
  readonly layout: TorchLayout;
  readonly weights: MhaWeights;
  readonly x: Tensor;
  readonly expected: { output: Tensor; attentionWeights?: Tensor | undefined };
}

/** A core-op golden case. */
export interface AttentionFixture {
  readonly kind: 'attention';
  readonly id: string;
  readonly description: string;
  readonly oracle: string;
  readonly seed: number | undefined;
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly options: { causal: boolean; scale: number | null };
  readonly expected: { output: Tensor; weights?: Tensor | undefined };
}

/** Either kind of golden case. */
export type Fixture = ModuleFixture | AttentionFixture;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Portable base64 -> bytes (no Node Buffer, no atob), rejecting malformed input. */
export function decodeBase64(s: string, field = 'data'): Uint8Array {
  const clean = s.replace(/=+$/, '');
  if (clean.length % 4 === 1) throw new MhaError(MhaErrorCode.InvalidType, field, s.length, 'malformed base64 length');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    let n = 0;
    let count = 0;
    for (let j = 0; j < 4 && i + j < clean.length; j++, count++) {
      const c = clean.charCodeAt(i + j);
      const v = c < 128 ? B64_INDEX[c]! : -1;
      if (v < 0) throw new MhaError(MhaErrorCode.InvalidType, field, clean[i + j], `invalid base64 character at ${i + j}`);
      n |= v << (18 - 6 * j);
    }
    out[o++] = (n >> 16) & 255;
    if (count > 2) out[o++] = (n >> 8) & 255;
    if (count > 3) out[o++] = n & 255;
  }
  return out;
}

/** Decodes a fixture tensor, checking dtype and that the byte length matches the shape. */
export function decodeTensor(t: unknown, field: string): Tensor {
  if (typeof t !== 'object' || t === null) throw new MhaError(MhaErrorCode.InvalidType, field, t, 'expected {shape, dtype, data}');
  const { shape, dtype, data } = t as Partial<FixtureTensorJSON>;
  if (dtype !== 'float32') throw new MhaError(MhaErrorCode.InvalidType, `${field}.dtype`, dtype, "only 'float32' is defined");
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, shape, 'expected non-negative integers');
  }
  if (typeof data !== 'string') throw new MhaError(MhaErrorCode.InvalidType, `${field}.data`, data, 'expected a base64 string');
  const bytes = decodeBase64(data, `${field}.data`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== n * 4) throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, bytes.length, `expected ${n * 4} bytes for shape [${shape.join(',')}]`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = view.getFloat32(i * 4, true);
  return { data: f, shape };
}

function field<T>(obj: Record<string, unknown>, key: string, where: string): T {
  if (!(key in obj)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.${key}`, undefined, 'missing field');
  return obj[key] as T;
}

/**
 * Parses one fixture object (already JSON-decoded). Module weights are converted from the stored
 * PyTorch state_dict with core's converters, so every golden case also exercises them.
 */
export function parseFixture(json: unknown, source = 'fixture'): Fixture {
  if (typeof json !== 'object' || json === null) throw new MhaError(MhaErrorCode.InvalidType, source, json, 'expected a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== 'mha-fixture/1') throw new MhaError(MhaErrorCode.InvalidType, `${source}.format`, o.format, "expected 'mha-fixture/1'");
  const id = field<string>(o, 'id', source);
  const where = `${source}(${id})`;
  const inputs = field<Record<string, unknown>>(o, 'inputs', where);
  const expected = field<Record<string, unknown>>(o, 'expected', where);
  const common = {
    id,
    description: String(o.description ?? ''),
    oracle: String(o.oracle ?? 'unknown'),
    seed: typeof o.seed === 'number' ? o.seed : undefined,
  };
  if (o.kind === 'module') {
    const config = resolveConfig(field(o, 'config', where));
    const layout = field<TorchLayout>(o, 'weightLayout', where);
    const raw = field<Record<string, unknown>>(o, 'weights', where);
    const sd: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(raw)) sd[k] = decodeTensor(v, `${where}.weights.${k}`);
    return {
      kind: 'module',
      ...common,
      config,
      layout,
      weights: fromTorchStateDict(layout, config, sd),
      x: decodeTensor(inputs.x, `${where}.inputs.x`),
      expected: {
        output: decodeTensor(expected.output, `${where}.expected.output`),
        attentionWeights: expected.attentionWeights === undefined ? undefined : decodeTensor(expected.attentionWeights, `${where}.expected.attentionWeights`),
      },
    };
  }
  if (o.kind === 'attention') {
    const options = field<{ causal?: unknown; scale?: unknown }>(o, 'options', where);
    if (typeof options.causal !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, `${where}.options.causal`, options.causal, 'expected a boolean');
    const scale = options.scale ?? null;
    if (scale !== null && typeof scale !== 'number') throw new MhaError(MhaErrorCode.InvalidType, `${where}.options.scale`, scale, 'expected a number or null');
    return {
      kind: 'attention',
      ...common,
      q: decodeTensor(inputs.q, `${where}.inputs.q`),
      k: decodeTensor(inputs.k, `${where}.inputs.k`),
      v: decodeTensor(inputs.v, `${where}.inputs.v`),
      options: { causal: options.causal, scale },
      expected: {
        output: decodeTensor(expected.output, `${where}.expected.output`),
        weights: expected.attentionWeights === undefined ? undefined : decodeTensor(expected.attentionWeights, `${where}.expected.attentionWeights`),
      },
    };
  }
  throw new MhaError(MhaErrorCode.InvalidType, `${where}.kind`, o.kind, "expected 'module' or 'attention'");
}
