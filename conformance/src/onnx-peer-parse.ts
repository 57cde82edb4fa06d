// The ONNX peer cases' JSON form (dist/fixtures/onnx-peer.json) and its parser, without file access, so
// browsers can read them too (fetch-fixtures.ts); onnx-peer.ts adds the Node loader.
import { CAPABILITIES, MhaError, MhaErrorCode, type AttentionOptions, type Capability, type Tensor, type WeightsStage } from '@mha/core';
import { decodeBase64, decodeTensor, type FixtureTensorJSON } from './fixture.js';

/**
 * One ONNX `Attention` node test, mapped onto our core op. 3D-layout cases (`[B, S, H*d]` with
 * `q_num_heads` / `kv_num_heads`) are converted to the 4D `[B, H, S, d]` layout and back.
 */
export interface OnnxPeerCase {
  readonly name: string;
  readonly opset: number;
  /** What the call needs of a backend (core's `requiredCapabilities` of the lowered call). */
  readonly needs: Capability[];
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly options: AttentionOptions;
  /** Expected output in our 4D layout. */
  readonly expected: Tensor;
  /** Expected `qk_matmul_output` at `options.weightsStage` (ONNX mode `mode`), when the case has it. */
  readonly expectedWeights?: Tensor | undefined;
  /** The ONNX `qk_matmul_output_mode` (0-3). */
  readonly mode: number;
  /** Expected `present_key` / `present_value` (`[B, Hkv, P + Tk, d]`), when the case has them. */
  readonly expectedPresentKey?: Tensor | undefined;
  readonly expectedPresentValue?: Tensor | undefined;
  /** True for float16 cases (widened to float32; their expected values carry half-precision rounding). */
  readonly half: boolean;
}

/** The format tag of onnx-peer.json. */
export const ONNX_PEER_FORMAT = 'mha-onnx-peer/2';
/** The file, in the package's dist/fixtures. */
export const ONNX_PEER_FILE = 'onnx-peer.json';

/** A bool or additive mask as stored: bool masks are one byte per element, additive ones float32. */
interface MaskJSON {
  readonly kind: 'bool' | 'additive';
  readonly shape: number[];
  readonly dtype: 'uint8' | 'float32';
  readonly data: string;
}

/** One case of onnx-peer.json; `source` says which ONNX test files it came from (name and SHA-256). */
export interface OnnxPeerCaseJSON {
  readonly name: string;
  readonly opset: number;
  readonly needs: Capability[];
  readonly half: boolean;
  readonly source: { readonly dir: string; readonly sha256: Readonly<Record<string, string>> };
  readonly q: FixtureTensorJSON;
  readonly k: FixtureTensorJSON;
  readonly v: FixtureTensorJSON;
  readonly options: {
    readonly causal: boolean;
    readonly scale?: number;
    readonly softcap?: number;
    readonly mask?: MaskJSON;
    readonly pastKey?: FixtureTensorJSON;
    readonly pastValue?: FixtureTensorJSON;
    readonly nonpadKvSeqlen?: number[];
    readonly weightsStage?: WeightsStage;
  };
  readonly mode: number;
  readonly expected: FixtureTensorJSON;
  readonly expectedWeights?: FixtureTensorJSON;
  readonly expectedPresentKey?: FixtureTensorJSON;
  readonly expectedPresentValue?: FixtureTensorJSON;
}

const STAGES: readonly WeightsStage[] = ['scores', 'softcapped', 'masked', 'softmax'];

/** onnx-peer.json: where the cases come from, and the cases. */
export interface OnnxPeerFileJSON {
  readonly format: typeof ONNX_PEER_FORMAT;
  readonly provenance: Readonly<Record<string, string>>;
  readonly cases: readonly OnnxPeerCaseJSON[];
}

function fail(field: string, value: unknown, message: string): never {
  throw new MhaError(MhaErrorCode.InvalidType, field, value, message);
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, typeof v, 'expected an object');
  return v as Record<string, unknown>;
}

function optionalNumber(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, v, 'expected a finite number');
  return v;
}

function mask(v: unknown, field: string): AttentionOptions['mask'] {
  if (v === undefined) return undefined;
  const m = record(v, field);
  if (m.kind === 'additive') return { kind: 'additive', ...decodeTensor({ shape: m.shape, dtype: m.dtype, data: m.data }, field) };
  if (m.kind !== 'bool' || m.dtype !== 'uint8') fail(`${field}.kind`, m.kind, "expected 'bool' (uint8) or 'additive' (float32)");
  const shape = m.shape;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`${field}.shape`, shape, 'expected non-negative integers');
  if (typeof m.data !== 'string') fail(`${field}.data`, typeof m.data, 'expected a base64 string');
  const data = decodeBase64(m.data, `${field}.data`);
  const n = (shape as number[]).reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data`, data.length, `expected ${n} bytes for shape [${shape.join(',')}]`);
  return { kind: 'bool', data, shape: shape as number[] };
}

/** One case of onnx-peer.json, checked field by field. */
function parseCase(v: unknown, field: string): OnnxPeerCase {
  const c = record(v, field);
  if (typeof c.name !== 'string' || !/^test_[A-Za-z0-9_]+$/.test(c.name)) fail(`${field}.name`, c.name, 'expected an ONNX test name (test_...)');
  const at = `${field} (${c.name})`;
  if (!Number.isSafeInteger(c.opset)) fail(`${at}.opset`, c.opset, 'expected an integer');
  if (!Array.isArray(c.needs) || c.needs.some((n) => typeof n !== 'string' || !Object.hasOwn(CAPABILITIES, n))) fail(`${at}.needs`, c.needs, `expected capabilities (${Object.keys(CAPABILITIES).join(', ')})`);
  if (typeof c.half !== 'boolean') fail(`${at}.half`, c.half, 'expected a boolean');
  const o = record(c.options, `${at}.options`);
  if (typeof o.causal !== 'boolean') fail(`${at}.options.causal`, o.causal, 'expected a boolean');
  if (!Number.isSafeInteger(c.mode) || (c.mode as number) < 0 || (c.mode as number) > 3) fail(`${at}.mode`, c.mode, 'expected a qk_matmul_output_mode 0-3');
  const nonpad = o.nonpadKvSeqlen;
  if (nonpad !== undefined && (!Array.isArray(nonpad) || nonpad.some((n) => !Number.isSafeInteger(n)))) fail(`${at}.options.nonpadKvSeqlen`, nonpad, 'expected integers');
  if (o.weightsStage !== undefined && !STAGES.includes(o.weightsStage as WeightsStage)) fail(`${at}.options.weightsStage`, o.weightsStage, `expected ${STAGES.join(', ')}`);
  const optional = (t: unknown, what: string) => (t === undefined ? undefined : decodeTensor(t, `${at}.${what}`));
  return {
    name: c.name,
    opset: c.opset as number,
    mode: c.mode as number,
    needs: c.needs as Capability[],
    half: c.half,
    q: decodeTensor(c.q, `${at}.q`),
    k: decodeTensor(c.k, `${at}.k`),
    v: decodeTensor(c.v, `${at}.v`),
    options: {
      causal: o.causal,
      scale: optionalNumber(o.scale, `${at}.options.scale`),
      softcap: optionalNumber(o.softcap, `${at}.options.softcap`),
      mask: mask(o.mask, `${at}.options.mask`),
      pastKey: optional(o.pastKey, 'options.pastKey'),
      pastValue: optional(o.pastValue, 'options.pastValue'),
      nonpadKvSeqlen: nonpad as number[] | undefined,
      returnWeights: c.expectedWeights !== undefined,
      weightsStage: o.weightsStage as WeightsStage | undefined,
    },
    expected: decodeTensor(c.expected, `${at}.expected`),
    expectedWeights: optional(c.expectedWeights, 'expectedWeights'),
    expectedPresentKey: optional(c.expectedPresentKey, 'expectedPresentKey'),
    expectedPresentValue: optional(c.expectedPresentValue, 'expectedPresentValue'),
  };
}

/** Decodes the contents of onnx-peer.json (browser-safe: no file access). */
export function parseOnnxPeerCases(json: unknown): OnnxPeerCase[] {
  const file = record(json, ONNX_PEER_FILE);
  if (file.format !== ONNX_PEER_FORMAT) fail(`${ONNX_PEER_FILE}.format`, file.format, `expected '${ONNX_PEER_FORMAT}'`);
  if (!Array.isArray(file.cases)) fail(`${ONNX_PEER_FILE}.cases`, typeof file.cases, 'expected an array');
  return file.cases.map((c, i) => parseCase(c, `${ONNX_PEER_FILE}.cases[${i}]`));
}

function tensorJSON(t: Tensor): FixtureTensorJSON {
  const bytes = new Uint8Array(t.data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i]!, true);
  return { shape: [...t.shape], dtype: 'float32', data: base64(bytes) };
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}

/** One case in the onnx-peer.json form (the build script adds `source`). Finite scale/softcap only. */
export function onnxPeerCaseJSON(c: OnnxPeerCase, source: OnnxPeerCaseJSON['source']): OnnxPeerCaseJSON {
  const { softcap, causal, mask: m, pastKey, pastValue, nonpadKvSeqlen, weightsStage } = c.options;
  const scale = c.options.scale ?? undefined;
  for (const [key, value] of [['scale', scale], ['softcap', softcap]] as const) {
    if (value !== undefined && !Number.isFinite(value)) fail(`${c.name}.options.${key}`, value, 'JSON cannot hold a non-finite number');
  }
  const maskJSON: MaskJSON | undefined =
    m === undefined ? undefined : m.kind === 'bool' ? { kind: 'bool', shape: [...m.shape], dtype: 'uint8', data: base64(m.data as Uint8Array) } : { kind: 'additive', ...tensorJSON(m as Tensor) };
  return {
    name: c.name,
    opset: c.opset,
    needs: [...c.needs],
    half: c.half,
    source,
    q: tensorJSON(c.q),
    k: tensorJSON(c.k),
    v: tensorJSON(c.v),
    options: {
      causal: causal === true,
      ...(scale === undefined ? {} : { scale }),
      ...(softcap === undefined ? {} : { softcap }),
      ...(maskJSON === undefined ? {} : { mask: maskJSON }),
      ...(pastKey === undefined ? {} : { pastKey: tensorJSON(pastKey) }),
      ...(pastValue === undefined ? {} : { pastValue: tensorJSON(pastValue) }),
      ...(nonpadKvSeqlen === undefined ? {} : { nonpadKvSeqlen: [...nonpadKvSeqlen].map(Number) }),
      ...(weightsStage === undefined ? {} : { weightsStage }),
    },
    mode: c.mode,
    expected: tensorJSON(c.expected),
    ...(c.expectedWeights === undefined ? {} : { expectedWeights: tensorJSON(c.expectedWeights) }),
    ...(c.expectedPresentKey === undefined ? {} : { expectedPresentKey: tensorJSON(c.expectedPresentKey) }),
    ...(c.expectedPresentValue === undefined ? {} : { expectedPresentValue: tensorJSON(c.expectedPresentValue) }),
  };
}
