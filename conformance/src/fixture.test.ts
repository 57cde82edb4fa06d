import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMhaError } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBase64, decodeTensor, parseFixture } from './fixture.js';
import { builtinFixturesDir, loadFixtureFile } from './fixture-files.js';

const tmp = mkdtempSync(join(tmpdir(), 'mha-fixture-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function errorOf(fn: () => unknown): { code: string; field: string } {
  try {
    fn();
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('no error');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const good = () => JSON.parse(readFileSync(join(builtinFixturesDir(), 'book-mha-ch03.json'), 'utf8')) as Record<string, any>;

describe('fixture decoding', () => {
  it('base64 decodes like the standard and rejects invalid characters and lengths', () => {
    expect(Array.from(decodeBase64('AAECAw=='))).toEqual([0, 1, 2, 3]);
    expect(Array.from(decodeBase64('/+8='))).toEqual([255, 239]);
    expect(errorOf(() => decodeBase64('AA*A')).code).toBe('MHA_INVALID_TYPE');
    expect(errorOf(() => decodeBase64('AAAAA')).code).toBe('MHA_INVALID_TYPE');
  });
  it('round-trips float32 exactly, including -0 and subnormals', () => {
    const f = Float32Array.from([-0, 1e-45, 3.4028234663852886e38, 0.1]);
    const b64 = Buffer.from(f.buffer).toString('base64');
    const t = decodeTensor({ shape: [4], dtype: 'float32', data: b64 }, 't');
    expect(Object.is(t.data[0], -0)).toBe(true);
    expect(Array.from(t.data)).toEqual(Array.from(f));
  });
  it.each([
    ['wrong format tag', (o: Record<string, any>) => (o.format = 'mha-fixture/9'), 'MHA_INVALID_TYPE', /format$/],
    ['unknown kind', (o: Record<string, any>) => (o.kind = 'layer'), 'MHA_INVALID_TYPE', /kind$/],
    ['missing inputs', (o: Record<string, any>) => delete o.inputs, 'MHA_INVALID_TYPE', /inputs$/],
    ['truncated tensor data', (o: Record<string, any>) => (o.inputs.x.data = o.inputs.x.data.slice(0, 16)), 'MHA_SHAPE_MISMATCH', /inputs\.x\.data$/],
    ['float64 dtype', (o: Record<string, any>) => (o.expected.output.dtype = 'float64'), 'MHA_INVALID_TYPE', /expected\.output\.dtype$/],
    ['negative dim', (o: Record<string, any>) => (o.inputs.x.shape = [2, -6, 3]), 'MHA_INVALID_SHAPE', /inputs\.x\.shape$/],
    ['weight of another layout', (o: Record<string, any>) => (o.weights.in_proj_weight = o.weights['W_query.weight']), 'MHA_WEIGHT_SHAPE', /^in_proj_weight$/],
    ['config with fractional heads', (o: Record<string, any>) => (o.config.heads = 1.5), 'MHA_INVALID_CONFIG', /^config\.heads$/],
  ])('rejects a fixture with %s, naming the field', (_name, mutate, code, field) => {
    const o = good();
    mutate(o);
    const e = errorOf(() => parseFixture(o, 'case.json'));
    expect(e.code).toBe(code);
    expect(e.field).toMatch(field);
  });
  it('a file that is not JSON fails with the file named, not a SyntaxError', () => {
    const path = join(tmp, 'broken.json');
    writeFileSync(path, '{"format": "mha-fixture/1", "id": ');
    expect(errorOf(() => loadFixtureFile(path))).toEqual({ code: 'MHA_INVALID_TYPE', field: path });
  });
});
