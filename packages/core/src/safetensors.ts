import { MhaError, MhaErrorCode } from './errors.js';
import { formatShape } from './tensor.js';

/** One tensor read from a `.safetensors` file, converted to float32. */
export interface SafetensorsTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  /** The dtype stored in the file (`F32`, `F16`, `BF16`, `F64`). */
  readonly dtype: SafetensorsDtype;
}

/** The float dtypes {@link readSafetensors} converts to float32. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

const BYTES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** A header larger than this is refused before it is decoded (the format's reference reader uses 100 MB). */
const MAX_HEADER = 100_000_000;
const FIELD = 'safetensors';
// TextDecoder is in every runtime we target (Node, browsers, Deno, Bun, edge workers) but not in the ES lib types.
const Utf8Decoder = (globalThis as unknown as { TextDecoder: new (label: string, options: { fatal: boolean }) => { decode(bytes: Uint8Array): string } }).TextDecoder;

function bad(field: string, value: unknown, message: string): MhaError {
  return new MhaError(MhaErrorCode.InvalidType, field, value, message);
}

function f16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Reads a `.safetensors` file (Hugging Face's format: an 8-byte little-endian header length, a UTF-8 JSON
 * header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }`, then the raw little-endian
 * data) into float32 tensors keyed by parameter name, ready for `fromTorchStateDict`. `F32`, `F16`, `BF16`
 * and `F64` are converted to float32 (F16/BF16 exactly; F64 rounds, and a value outside the float32 range is
 * refused by the converters); other dtypes are `MHA_UNSUPPORTED`. Every malformed header (short file,
 * header length past the end, not JSON, a bad shape or offsets, overlapping or out-of-range data, a size
 * that does not match the shape) is an `MhaError` naming the tensor. No dependency; works on the bytes in
 * Node (`readFileSync(path)`) and in a browser (`await (await fetch(url)).arrayBuffer()`).
 *
 * A PyTorch `.pt` file cannot be read from JS (it is a pickle); convert it once with
 * `python3 -c "import torch, safetensors.torch as s; s.save_file({k: v.contiguous() for k, v in torch.load('m.pt', map_location='cpu').items()}, 'm.safetensors')"`.
 *
 * @example
 * const { tensors } = readSafetensors(readFileSync('model.safetensors'));
 * const w = fromTorchStateDict('gpt2', cfg, tensors, { prefix: 'transformer.h.0.attn.' });
 */
export function readSafetensors(bytes: ArrayBuffer | Uint8Array): { tensors: Record<string, SafetensorsTensor>; metadata: Readonly<Record<string, string>> } {
  let u8: Uint8Array;
  if (bytes instanceof Uint8Array) u8 = bytes;
  else if (bytes instanceof ArrayBuffer) u8 = new Uint8Array(bytes);
  else throw bad(FIELD, bytes === null ? null : typeof bytes, 'expected an ArrayBuffer or a Uint8Array of the file');
  if (u8.byteLength < 8) throw bad(`${FIELD}.header`, u8.byteLength, 'file shorter than the 8-byte header length');
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > MAX_HEADER) throw bad(`${FIELD}.header`, headerLen, `header length over ${MAX_HEADER} bytes (not a safetensors file?)`);
  if (8 + headerLen > u8.byteLength) throw bad(`${FIELD}.header`, headerLen, `header length runs past the end of the ${u8.byteLength}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new Utf8Decoder('utf-8', { fatal: true }).decode(u8.subarray(8, 8 + headerLen)));
  } catch {
    throw bad(`${FIELD}.header`, headerLen, 'the header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad(`${FIELD}.header`, Array.isArray(header) ? 'an array' : typeof header, 'the header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = u8.byteLength - dataStart;
  const tensors: Record<string, SafetensorsTensor> = Object.create(null) as Record<string, SafetensorsTensor>;
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  const bf16Bits = new Uint32Array(1);
  const bf16Value = new Float32Array(bf16Bits.buffer);
  for (const name of Object.keys(header)) {
    const entry: unknown = (header as Record<string, unknown>)[name];
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) throw bad(`${FIELD}.__metadata__`, typeof entry, 'must be an object of strings');
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    const field = `${FIELD}.${name}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad(field, typeof entry, 'expected { dtype, shape, data_offsets }');
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') throw bad(`${field}.dtype`, dtype, 'missing dtype');
    if (!Object.hasOwn(BYTES, dtype)) throw new MhaError(MhaErrorCode.Unsupported, `${field}.dtype`, dtype, 'only F32, F16, BF16 and F64 tensors are read (weights are float)');
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new MhaError(MhaErrorCode.InvalidShape, `${field}.shape`, Array.isArray(shape) ? shape.slice(0, 8) : typeof shape, 'expected an array of non-negative integers');
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0) || offsets[0] > offsets[1]) throw bad(`${field}.data_offsets`, Array.isArray(offsets) ? offsets.slice(0, 3) : typeof offsets, 'expected [begin, end] with 0 <= begin <= end');
    const [begin, end] = offsets as [number, number];
    if (end > dataLen) throw bad(`${field}.data_offsets`, end, `past the end of the ${dataLen}-byte data section`);
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = BYTES[dtype as SafetensorsDtype];
    if (end - begin !== n * size) throw new MhaError(MhaErrorCode.ShapeMismatch, `${field}.data_offsets`, end - begin, `a ${dtype} tensor of shape ${formatShape(shape as number[])} holds ${n * size} bytes`);
    spans.push([begin, end, name]);
    const data = new Float32Array(n);
    const at = dataStart + begin;
    for (let i = 0; i < n; i++) {
      switch (dtype as SafetensorsDtype) {
        case 'F32':
          data[i] = view.getFloat32(at + 4 * i, true);
          break;
        case 'F64':
          data[i] = view.getFloat64(at + 8 * i, true);
          break;
        case 'F16':
          data[i] = f16(view.getUint16(at + 2 * i, true));
          break;
        case 'BF16':
          // bfloat16 is the upper half of a float32.
          bf16Bits[0] = view.getUint16(at + 2 * i, true) << 16;
          data[i] = bf16Value[0]!;
          break;
      }
    }
    tensors[name] = { data, shape: [...(shape as number[])], dtype: dtype as SafetensorsDtype };
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < spans.length; i++) {
    const [b, , name] = spans[i]!;
    const [, prevEnd, prev] = spans[i - 1]!;
    if (b < prevEnd) throw bad(`${FIELD}.${name}.data_offsets`, b, `overlaps the data of '${prev}'`);
  }
  return { tensors, metadata };
}
