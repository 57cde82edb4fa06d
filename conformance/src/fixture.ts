import {
  fromTorchStateDict,
  isMhaError,
  MhaError,
  MhaErrorCode,
  resolveConfig,
  type MhaConfig,
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

/**
 * base64 -> bytes with the runtime's `atob` (Node 16+, browsers, Deno, Bun and edge runtimes all have it),
 * after refusing what `atob` would quietly accept: whitespace, characters outside the alphabet, padding
 * before the end or more than two `=`.
 */
export function decodeBase64(s: string, field = 'data'): Uint8Array {
  const bad = /[^A-Za-z0-9+/=]|=(?=[^=])/.exec(s);
  if (bad) throw new MhaError(MhaErrorCode.InvalidType, field, s[bad.index], `invalid base64 character at ${bad.index}`);
  const clean = s.replace(/=+$/, '');
  if (clean.length % 4 === 1 || s.length - clean.length > 2) throw new MhaError(MhaErrorCode.InvalidType, field, s.length, 'malformed base64 length');
  const binary = atob(clean);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Decodes a fixture tensor, checking dtype and that the byte length matches the shape. */
export function decodeTensor(t: unknown, field: string): Tensor {
  const { shape, dtype, data } = asObject(t, field, ['shape', 'dtype', 'data']) as Partial<FixtureTensorJSON>;
  if (dtype !== 'float32') throw new MhaError(MhaErrorCode.InvalidType, `${field}.dtype`, shown(dtype), "only 'float32' is defined");
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, Array.isArray(shape) && shape.length <= 8 ? shape.map(shown) : shown(shape), 'expected non-negative integers');
  }
  if (typeof data !== 'string') throw new MhaError(MhaErrorCode.InvalidType, `${field}.data`, shown(data), 'expected a base64 string');
  const bytes = decodeBase64(data, `${field}.data`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== n * 4) throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, bytes.length, `expected ${n * 4} bytes for shape [${shape.join(',')}]`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = view.getFloat32(i * 4, true);
  return { data: f, shape };
}

/** Ids name test cases and are printed in reports: a safe charset keeps terminal escapes and paths out. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._+=,-]{0,127}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const MODULE_KEYS = ['format', 'id', 'kind', 'description', 'oracle', 'source', 'seed', 'config', 'weightLayout', 'weights', 'inputs', 'expected'];
const ATTENTION_KEYS = ['format', 'id', 'kind', 'description', 'oracle', 'source', 'seed', 'config', 'inputs', 'options', 'expected'];

/** A short, printable stand-in for a value read from a file, so errors never echo a file's bytes. */
function shown(v: unknown): unknown {
  if (typeof v === 'string') return v.length > 40 || CONTROL.test(v) ? `a string of ${v.length} characters` : v;
  if (v === null || typeof v !== 'object') return v;
  return Array.isArray(v) ? 'an array' : 'an object';
}

/** `o[key]` as a JSON object (not null, not an array) whose own keys are all in `allowed`. */
function objectAt(o: Record<string, unknown>, key: string, where: string, allowed?: readonly string[]): Record<string, unknown> {
  if (!Object.prototype.hasOwnProperty.call(o, key)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.${key}`, undefined, 'missing field');
  return asObject(o[key], `${where}.${key}`, allowed);
}

function asObject(v: unknown, where: string, allowed?: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MhaError(MhaErrorCode.InvalidType, where, shown(v), 'expected a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    // JSON.parse makes "__proto__" an own key; assigning it elsewhere would silently drop it.
    if (k === '__proto__' || (allowed && !allowed.includes(k))) throw new MhaError(MhaErrorCode.InvalidType, `${where}.${shown(k)}`, undefined, allowed ? `unknown key (expected ${allowed.join(', ')})` : 'reserved key');
  }
  return o;
}

/** An optional string field without control characters (they would reach terminals via reports). */
function textAt(o: Record<string, unknown>, key: string, where: string, fallback: string): string {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || CONTROL.test(v)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.${key}`, shown(v), 'expected a string without control characters');
  return v;
}

/**
 * Parses one fixture object (already JSON-decoded). Module weights are converted from the stored
 * PyTorch state_dict with core's converters, so every golden case also exercises them. Every error is
 * an {@link MhaError} whose message names `source`; unknown keys (including `__proto__`) are refused.
 */
export function parseFixture(json: unknown, source = 'fixture'): Fixture {
  try {
    return parseFixtureObject(json, source);
  } catch (e) {
    if (isMhaError(e) && e.message.includes(source)) throw e;
    // Errors raised by core's converters name the field but not the file.
    if (isMhaError(e)) throw new MhaError(e.code, e.field, e.value, `in ${source}: ${e.message.slice(e.message.indexOf(': ') + 2)}`);
    throw new MhaError(MhaErrorCode.InvalidType, source, undefined, `malformed fixture: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseFixtureObject(json: unknown, source: string): Fixture {
  const o = asObject(json, source);
  if (o.format !== 'mha-fixture/1') throw new MhaError(MhaErrorCode.InvalidType, `${source}.format`, shown(o.format), "expected 'mha-fixture/1'");
  const id = o.id;
  if (typeof id !== 'string' || !SAFE_ID.test(id)) throw new MhaError(MhaErrorCode.InvalidType, `${source}.id`, shown(id), `expected an id matching ${SAFE_ID}`);
  const where = `${source}(${id})`;
  if (o.kind !== 'module' && o.kind !== 'attention') throw new MhaError(MhaErrorCode.InvalidType, `${where}.kind`, shown(o.kind), "expected 'module' or 'attention'");
  asObject(o, where, o.kind === 'module' ? MODULE_KEYS : ATTENTION_KEYS);
  if (o.seed !== undefined && o.seed !== null && typeof o.seed !== 'number') throw new MhaError(MhaErrorCode.InvalidType, `${where}.seed`, shown(o.seed), 'expected a number');
  const common = {
    id,
    description: textAt(o, 'description', where, ''),
    oracle: textAt(o, 'oracle', where, 'unknown'),
    seed: typeof o.seed === 'number' ? o.seed : undefined,
  };
  textAt(o, 'source', where, '');
  const expected = objectAt(o, 'expected', where, ['output', 'attentionWeights']);
  const output = decodeTensor(expected.output, `${where}.expected.output`);
  const extraWeights = expected.attentionWeights === undefined ? undefined : decodeTensor(expected.attentionWeights, `${where}.expected.attentionWeights`);
  if (o.kind === 'module') {
    const inputs = objectAt(o, 'inputs', where, ['x']);
    const config = resolveConfig(objectAt(o, 'config', where) as unknown as MhaConfig);
    if (typeof o.weightLayout !== 'string') throw new MhaError(MhaErrorCode.InvalidType, `${where}.weightLayout`, shown(o.weightLayout), 'expected a layout name');
    const layout = o.weightLayout as TorchLayout;
    const raw = objectAt(o, 'weights', where);
    // A null-prototype record: every key stays an own key, none can reach Object.prototype.
    const sd = Object.create(null) as Record<string, Tensor>;
    for (const k of Object.keys(raw)) sd[k] = decodeTensor(raw[k], `${where}.weights.${shown(k)}`);
    return {
      kind: 'module',
      ...common,
      config,
      layout,
      weights: fromTorchStateDict(layout, config, sd),
      x: decodeTensor(inputs.x, `${where}.inputs.x`),
      expected: { output, attentionWeights: extraWeights },
    };
  }
  const inputs = objectAt(o, 'inputs', where, ['q', 'k', 'v']);
  if (o.config !== undefined) objectAt(o, 'config', where);
  const options = objectAt(o, 'options', where, ['causal', 'scale']);
  if (typeof options.causal !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, `${where}.options.causal`, shown(options.causal), 'expected a boolean');
  const scale = options.scale ?? null;
  if (scale !== null && typeof scale !== 'number') throw new MhaError(MhaErrorCode.InvalidType, `${where}.options.scale`, shown(scale), 'expected a number or null');
  return {
    kind: 'attention',
    ...common,
    q: decodeTensor(inputs.q, `${where}.inputs.q`),
    k: decodeTensor(inputs.k, `${where}.inputs.k`),
    v: decodeTensor(inputs.v, `${where}.inputs.v`),
    options: { causal: options.causal, scale },
    expected: { output, weights: extraWeights },
  };
}
