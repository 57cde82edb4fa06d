import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { halfToFloat } from './float16.js';
import { DataType } from './proto.js';
import { readModel, readTensorProto } from './read.js';
import { writeTensorProto } from './write.js';
import { exportOnnx } from './export.js';
import { initWeights, resolveConfig } from '@mha/core';

// Files written by ONNX's own Python serializer (test-data/generate.py), values listed there too.
const DATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-data');
const file = (name: string) => readFileSync(join(DATA, name));

const FLOATS = [1.5, -2.25, 0, 65504, 6.103515625e-5, 5.960464477539063e-8, Infinity, -Infinity];

describe('readTensorProto on files ONNX wrote', () => {
  for (const storage of ['raw', 'fields'] as const) {
    describe(`values in ${storage === 'raw' ? 'raw_data' : 'the typed fields'}`, () => {
      it('float32', () => {
        const t = readTensorProto(file(`float32.${storage}.pb`));
        expect(t).toMatchObject({ name: `float32_${storage}`, dims: [2, 4], dataType: DataType.FLOAT, type: 'float32' });
        expect(t.data).toBeInstanceOf(Float32Array);
        expect(Array.from(t.data as Float32Array)).toEqual(FLOATS);
      });
      it('float16, widened to float32 with the raw bits kept', () => {
        const t = readTensorProto(file(`float16.${storage}.pb`));
        expect(t).toMatchObject({ dims: [2, 4], dataType: DataType.FLOAT16, type: 'float16' });
        expect(t.data).toBeInstanceOf(Float32Array);
        expect(Array.from(t.data as Float32Array)).toEqual(FLOATS);
        expect(Array.from(t.float16Bits!)).toEqual([0x3e00, 0xc080, 0x0000, 0x7bff, 0x0400, 0x0001, 0x7c00, 0xfc00]);
      });
      it('float64', () => {
        const t = readTensorProto(file(`float64.${storage}.pb`));
        expect(t).toMatchObject({ dims: [3], type: 'float64' });
        expect(Array.from(t.data as Float64Array)).toEqual([0.1, -1e300, 3]);
      });
      it('bool', () => {
        const t = readTensorProto(file(`bool.${storage}.pb`));
        expect(t).toMatchObject({ dims: [2, 3], type: 'bool', dataType: DataType.BOOL });
        expect(Array.from(t.data as Uint8Array)).toEqual([1, 0, 1, 0, 0, 1]);
      });
      it('int64, exactly, beyond 2^32', () => {
        const t = readTensorProto(file(`int64.${storage}.pb`));
        expect(t).toMatchObject({ dims: [1, 4], type: 'int64' });
        expect(Array.from(t.data as BigInt64Array)).toEqual([7n, -3n, 2n ** 40n, -(2n ** 40n)]);
      });
      it('a scalar has dims []', () => {
        const t = readTensorProto(file(`scalar.${storage}.pb`));
        expect(t.dims).toEqual([]);
        expect(Array.from(t.data as Float32Array)).toEqual([2.5]);
      });
    });
  }

  it('returns data in its own aligned buffer even when protobuf hands out an odd offset', () => {
    // Embed the encoded tensor at an odd offset of a larger buffer, as a pooled Buffer would be.
    const bytes = file('float32.raw.pb');
    const host = new Uint8Array(bytes.length + 3);
    host.set(bytes, 3);
    const t = readTensorProto(host.subarray(3));
    expect(t.data.byteOffset).toBe(0);
    expect(Array.from(t.data as Float32Array)).toEqual(FLOATS);
  });

  it('raises a typed error for garbage and for unsupported element types', () => {
    expect(() => readTensorProto(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))).toThrow(expect.objectContaining({ code: 'MHA_INVALID_TYPE' }));
    const str = Uint8Array.from([0x08, 0x01, 0x10, 0x08]); // dims [1], data_type 8 (STRING)
    expect(() => readTensorProto(str)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_TYPE', field: 'tensor.dataType' }));
  });

  it('round-trips what writeTensorProto writes', () => {
    const cases = [
      { name: 'f', dims: [2, 2], data: Float32Array.from([1, -0.5, 3e-8, -Infinity]) },
      { name: 'd', dims: [1], data: Float64Array.from([Math.PI]) },
      { name: 'i', dims: [2], data: BigInt64Array.from([-1n, 2n ** 50n]) },
      { name: 'b', dims: [3], data: Uint8Array.from([0, 1, 1]) },
      { name: 'h', dims: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
    ];
    for (const c of cases) {
      const t = readTensorProto(writeTensorProto(c));
      expect(t.name).toBe(c.name);
      expect(t.dims).toEqual(c.dims);
      if (c.data instanceof Uint16Array) expect(Array.from(t.data as Float32Array)).toEqual([1, -2]);
      else expect(Array.from(t.data as ArrayLike<unknown>)).toEqual(Array.from(c.data as ArrayLike<unknown>));
    }
  });
});

describe('halfToFloat', () => {
  it('decodes zero, subnormals, normals, infinities and NaN', () => {
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(halfToFloat(0x3555)).toBeCloseTo(1 / 3, 3);
    expect(halfToFloat(0xfbff)).toBe(-65504);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
});

describe('readModel on a model ONNX wrote', () => {
  const m = readModel(file('attention_node.onnx'));

  it('reads opset, IR version, producer and metadata', () => {
    expect(m.irVersion).toBe(11);
    expect(m.opset).toBe(23);
    expect(m.opsetImport).toEqual([{ domain: '', version: 23 }]);
    expect(m.producerName).toBe('generate.py');
    expect(m.metadata).toEqual({ purpose: 'reader test' });
  });

  it('reads the node: op type, domain, slots (empty ones kept) and typed attributes', () => {
    expect(m.graph.nodes).toHaveLength(1);
    const n = m.graph.nodes[0]!;
    expect(n).toMatchObject({ name: 'attention', opType: 'Attention', domain: '' });
    expect(n.inputs).toEqual(['Q', 'K', 'V', '', '', '']);
    expect(n.outputs).toEqual(['Y', '', '', 'qk']);
    expect(n.attributes).toEqual({
      is_causal: { kind: 'int', value: 1 },
      scale: { kind: 'float', value: 0.125 },
      q_num_heads: { kind: 'int', value: 3 },
      kv_num_heads: { kind: 'int', value: 3 },
      qk_matmul_output_mode: { kind: 'int', value: 3 },
      note: { kind: 'string', value: 'text' },
      perm: { kind: 'ints', value: [0, 2, 1, 3] },
    });
  });

  it('reads graph inputs/outputs with symbolic and fixed dims, and initializers', () => {
    expect(m.graph.inputs.map((i) => [i.name, i.elemType, i.dims])).toEqual([
      ['Q', 1, ['batch', 4, 24]],
      ['K', 1, ['batch', 6, 24]],
      ['V', 1, ['batch', 6, 24]],
    ]);
    expect(m.graph.outputs[1]).toEqual({ name: 'qk', elemType: 1, dims: undefined });
    expect(m.graph.initializers[0]).toMatchObject({ name: 'unused_init', dims: [2, 3], type: 'int64' });
  });

  it('raises a typed error for bytes that are not a model', () => {
    expect(() => readModel(Uint8Array.from([0x0a, 0xff]))).toThrow(expect.objectContaining({ code: 'MHA_INVALID_TYPE' }));
  });
});

describe('readModel on malformed bytes', () => {
  const config = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true });
  const bytes = exportOnnx(config, initWeights(config, 1), { flavour: 'decomposed' });
  it('reads an intact export', () => expect(readModel(bytes).graph.nodes.length).toBeGreaterThan(5));
  it.each([
    ['truncated to half', () => bytes.subarray(0, Math.floor(bytes.length / 2))],
    ['truncated by one byte', () => bytes.subarray(0, bytes.length - 1)],
    ['random bytes', () => Uint8Array.from({ length: 257 }, (_, i) => (i * 131 + 7) & 255)],
    ['empty', () => new Uint8Array(0)],
  ])('%s: a typed MHA_INVALID_TYPE naming the bytes, never a crash or a half-read model', (_name, make) => {
    expect(() => readModel(make())).toThrow(expect.objectContaining({ code: 'MHA_INVALID_TYPE', field: 'bytes' }));
  });
});
