// Crafted dims in files this package reads or writes: typed MhaErrors before anything is sized from them.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { onnx } from './proto.js';
import { readModel, readTensorProto } from './read.js';
import { writeTensorProto } from './write.js';

const dir = mkdtempSync(join(tmpdir(), 'mha-onnx-crafted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'golden');

const tensorBytes = (t: Record<string, unknown>) => onnx.TensorProto.encode(onnx.TensorProto.create({ name: 't', dataType: 1, ...t })).finish();
const raw = (n: number) => new Uint8Array(new Float32Array(n).buffer);

describe('readTensorProto / readModel with crafted dims', () => {
  it('negative dims are MHA_INVALID_SHAPE, even when their product matches the data', () => {
    expect(() => readTensorProto(tensorBytes({ dims: [-2, -3], rawData: raw(6) }))).toThrow(expect.objectContaining({ code: 'MHA_INVALID_SHAPE', field: 'tensor.dims[0]', value: -2 }));
    expect(() => readTensorProto(tensorBytes({ dims: [3, -1], floatData: [1, 2, 3] }))).toThrow(expect.objectContaining({ code: 'MHA_INVALID_SHAPE', field: 'tensor.dims[1]' }));
  });

  it('huge dims are a typed error, not a RangeError or an allocation', () => {
    // Typed fields: the count was sized from dims (new Float32Array(1e12)) before the length check.
    expect(() => readTensorProto(tensorBytes({ dims: [1e12], floatData: [1, 2] }))).toThrow(expect.objectContaining({ code: 'MHA_SHAPE_MISMATCH', value: 2 }));
    expect(() => readTensorProto(tensorBytes({ dims: [1e6, 1e6], dataType: 7, int64Data: [1] }))).toThrow(expect.objectContaining({ code: 'MHA_SHAPE_MISMATCH' }));
    expect(() => readTensorProto(tensorBytes({ dims: [1e12], rawData: raw(2) }))).toThrow(expect.objectContaining({ code: 'MHA_SHAPE_MISMATCH' }));
    expect(() => readTensorProto(tensorBytes({ dims: [2 ** 40, 2 ** 40], rawData: raw(2) }))).toThrow(expect.objectContaining({ code: 'MHA_INVALID_SHAPE', field: 'tensor.dims' }));
  });

  it('an initializer with crafted dims makes readModel raise a typed error naming it', () => {
    const model = onnx.ModelProto.encode(
      onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g', initializer: [{ name: 'w', dataType: 1, dims: [1e12], floatData: [1] }] } }),
    ).finish();
    expect(() => readModel(model)).toThrow(expect.objectContaining({ code: 'MHA_SHAPE_MISMATCH', field: 'initializer w' }));
  });
});

describe('writeTensorProto with bad dims', () => {
  it('refuses negative, fractional and non-finite dims whose product matches the data', () => {
    const data = Float32Array.from([1, 2]);
    expect(() => writeTensorProto({ name: 'x', dims: [-1, -2], data })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_SHAPE', field: 'x.dims[0]', value: -1 }));
    expect(() => writeTensorProto({ name: 'x', dims: [0.5, 4], data })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_SHAPE', field: 'x.dims[0]', value: 0.5 }));
    expect(() => writeTensorProto({ name: 'x', dims: [NaN], data })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_SHAPE' }));
  });
});

describe('mha-onnx export --fixture with crafted shapes', () => {
  const fixture = JSON.parse(readFileSync(join(GOLDEN, 'book-wrapper-ch03.json'), 'utf8')) as { inputs: { x: { shape: number[] } } };

  for (const [what, shape] of [
    ['negative', (s: number[]) => [-s[0]!, -s[1]!, ...s.slice(2)]],
    ['fractional', (s: number[]) => [s[0]! * 4, s[1]! / 4, ...s.slice(2)]], // [8, 1.5, 3]: same element count
  ] as const) {
    it(`a ${what} input shape exits 1 with a typed error and writes nothing`, async () => {
      const crafted = structuredClone(fixture);
      crafted.inputs.x.shape = shape(fixture.inputs.x.shape);
      const file = join(dir, `${what}.json`);
      writeFileSync(file, JSON.stringify(crafted));
      const out = join(dir, `${what}.onnx`);
      const err: string[] = [];
      const code = await main(['export', '--fixture', file, '--out', out, '--test-data', join(dir, what)], () => undefined, (s) => err.push(s));
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('MHA_INVALID_SHAPE: inputs.x.shape[');
      expect(existsSync(out)).toBe(false);
      expect(existsSync(join(dir, what))).toBe(false);
    });
  }
});
