import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMhaError } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBase64, decodeTensor, parseFixture } from './fixture.js';
import { builtinFixturesDir, loadFixtureDir, loadFixtureFile } from './fixture-files.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases, ONNX_PEER_FILE, parseOnnxPeerCases } from './onnx-peer.js';
import { readOnnxTestCase, readOnnxTestCases } from './onnx-peer-convert.js';

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
    // What atob alone would accept is refused: whitespace, padding inside, three '='.
    for (const s of ['AAEC Aw==', 'AA\nECAw==', 'AA=CAw==', 'AAECAw===']) expect(errorOf(() => decodeBase64(s)).code, JSON.stringify(s)).toBe('MHA_INVALID_TYPE');
    expect(errorOf(() => decodeBase64('AA*A', 'x.data'))).toEqual({ code: 'MHA_INVALID_TYPE', field: 'x.data' });
    // Node's Buffer is the oracle for every length and byte value.
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 255);
      const b64 = Buffer.from(bytes).toString('base64');
      expect(Array.from(decodeBase64(b64)), b64).toEqual(Array.from(bytes));
      expect(Array.from(decodeBase64(b64.replace(/=+$/, ''))), 'unpadded').toEqual(Array.from(bytes));
    }
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

describe('fixture files from an untrusted directory (issue 12, item 20)', () => {
  const write = (name: string, o: unknown) => {
    const path = join(tmp, name);
    writeFileSync(path, typeof o === 'string' ? o : JSON.stringify(o));
    return path;
  };
  const messageOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (isMhaError(e)) return e.message;
      throw e;
    }
    throw new Error('no error');
  };
  it.each([
    ['inputs', (o: Record<string, any>) => (o.inputs = null), /inputs$/],
    ['expected', (o: Record<string, any>) => (o.expected = null), /expected$/],
    ['weights', (o: Record<string, any>) => (o.weights = null), /weights$/],
    ['config', (o: Record<string, any>) => (o.config = null), /config$/],
    ['inputs.x', (o: Record<string, any>) => (o.inputs.x = null), /inputs\.x$/],
    ['whole file', (o: Record<string, any>) => Object.keys(o).forEach((k) => delete o[k]), /null-file\.json$/],
  ])('%s = null is a typed error naming the file and the field', (what, mutate, field) => {
    const o = good();
    mutate(o);
    const path = write('null-file.json', Object.keys(o).length === 0 ? 'null' : o);
    const e = errorOf(() => loadFixtureFile(path));
    expect(e.code, what).toBe('MHA_INVALID_TYPE');
    expect(e.field).toMatch(field);
    expect(messageOf(() => loadFixtureFile(path))).toContain(path);
  });
  it('a null options object of an attention fixture names the file', () => {
    const o = JSON.parse(readFileSync(join(builtinFixturesDir(), 'attention-causal.json'), 'utf8')) as Record<string, unknown>;
    o.options = null;
    const path = write('null-options.json', o);
    expect(errorOf(() => loadFixtureFile(path))).toEqual({ code: 'MHA_INVALID_TYPE', field: `${path}(attention-causal).options` });
  });
  it('errors raised by core while converting still name the file', () => {
    const o = good();
    o.config.heads = 1.5;
    const path = write('bad-heads.json', o);
    expect(messageOf(() => loadFixtureFile(path))).toContain(path);
  });
  it('a FIFO named *.json is refused as not a regular file instead of blocking forever', () => {
    const dir = mkdtempSync(join(tmp, 'fifo-'));
    const fifo = join(dir, 'pipe.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // A writer of a valid fixture, so that a regression (a blocking read) ends in a wrong result, not a hang.
    const text = readFileSync(join(builtinFixturesDir(), 'book-mha-ch03.json'), 'utf8');
    const writer = spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(fifo)}, ${JSON.stringify(text)})`], { stdio: 'ignore' });
    try {
      let error: unknown;
      try {
        loadFixtureDir(dir);
      } catch (e) {
        error = e;
      }
      expect(isMhaError(error) && { code: error.code, field: error.field, fifo: /not a regular file/.test(error.message) }).toEqual({ code: 'MHA_INVALID_TYPE', field: fifo, fifo: true });
    } finally {
      writer.kill();
    }
  });
  it('a directory named *.json is refused too', () => {
    const dir = mkdtempSync(join(tmp, 'dir-'));
    mkdirSync(join(dir, 'sub.json'));
    expect(messageOf(() => loadFixtureDir(dir))).toMatch(/not a regular file/);
  });
  it('a symlink to a non-fixture file fails without echoing its bytes', () => {
    const secret = write('secret.txt', 'root:x:0:0:TOPSECRET-VALUE\n');
    const link = join(mkdtempSync(join(tmp, 'link-')), 'case.json');
    symlinkSync(secret, link);
    const message = messageOf(() => loadFixtureFile(link));
    expect(message).toContain(link);
    expect(message).not.toMatch(/root|TOPSECRET/);
    // Valid JSON that is not a fixture: the offending value is described, not quoted.
    const other = write('other.json', { format: 'TOPSECRET-VALUE-THAT-IS-LONGER-THAN-FORTY-CHARACTERS-XXXXXXXX' });
    expect(messageOf(() => loadFixtureFile(other))).not.toMatch(/TOPSECRET/);
  });
  it('a symlink to a real fixture is followed', () => {
    const link = join(mkdtempSync(join(tmp, 'good-link-')), 'book.json');
    symlinkSync(join(builtinFixturesDir(), 'book-mha-ch03.json'), link);
    expect(loadFixtureFile(link).id).toBe('book-mha-ch03');
  });
  it.each([
    ['an ANSI escape', '\u001b[31mred'],
    ['a path', '../../etc/passwd'],
    ['a newline', 'a\nFAIL'],
    ['an empty id', ''],
    ['a number', 7],
  ])('an id with %s is refused (ids are printed in reports)', (_what, id) => {
    const o = good();
    o.id = id;
    const e = errorOf(() => parseFixture(o, 'case.json'));
    expect(e).toEqual({ code: 'MHA_INVALID_TYPE', field: 'case.json.id' });
    expect(messageOf(() => parseFixture(o, 'case.json'))).not.toContain('\u001b');
  });
  it('a description with control characters is refused', () => {
    const o = good();
    o.description = 'ok \u001b]0;title\u0007';
    expect(errorOf(() => parseFixture(o, 'case.json'))).toEqual({ code: 'MHA_INVALID_TYPE', field: 'case.json(book-mha-ch03).description' });
  });
  it('a __proto__ weight key is refused, not silently dropped', () => {
    const o = good();
    const text = JSON.stringify(o).replace('"weights":{', `"weights":{"__proto__":${JSON.stringify(o.weights['W_query.weight'])},`);
    expect(Object.keys((JSON.parse(text) as Record<string, any>).weights)).toContain('__proto__');
    const path = write('proto.json', text);
    const e = errorOf(() => loadFixtureFile(path));
    expect(e.code).toBe('MHA_INVALID_TYPE');
    expect(e.field).toMatch(/weights\.__proto__$/);
  });
  it.each([
    ['top level', (o: Record<string, any>) => (o.extra = 1), /\.extra$/],
    ['top level __proto__', (o: Record<string, any>) => Object.defineProperty(o, '__proto__', { value: {}, enumerable: true }), /\.__proto__$/],
    ['inputs', (o: Record<string, any>) => (o.inputs.y = o.inputs.x), /inputs\.y$/],
    ['expected', (o: Record<string, any>) => (o.expected.weights = o.expected.output), /expected\.weights$/],
    ['a tensor', (o: Record<string, any>) => (o.inputs.x.byteOrder = 'big'), /inputs\.x\.byteOrder$/],
  ])('an unknown key in %s is refused', (_where, mutate, field) => {
    const o = good();
    mutate(o);
    const e = errorOf(() => parseFixture(JSON.parse(JSON.stringify(o)), 'case.json'));
    expect(e.code).toBe('MHA_INVALID_TYPE');
    expect(e.field).toMatch(field);
  });
  it('every built-in fixture still parses', () => {
    expect(loadFixtureDir(builtinFixturesDir()).length).toBeGreaterThan(20);
  });
});

/** The ONNX project's test directories, as stored in the repository (the converter's input). */
const ONNX_TESTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'onnx-attention');

describe('ONNX peer case converter (build time, reads the ONNX test files)', () => {
  const copyCase = (name: string) => {
    const dir = join(mkdtempSync(join(tmp, 'peer-')), name);
    cpSync(join(ONNX_TESTS, name), dir, { recursive: true });
    return dir;
  };
  const patchModel = (dir: string, from: string, to: string) => {
    const path = join(dir, 'model.onnx');
    const bytes = readFileSync(path);
    const at = bytes.indexOf(Buffer.from(from));
    expect(at, `${from} in model.onnx`).toBeGreaterThan(0);
    Buffer.from(to).copy(bytes, at);
    writeFileSync(path, bytes);
  };
  it('a 3D case loads with its head counts', () => {
    const c = readOnnxTestCase(copyCase('test_attention_3d'));
    expect(c.q.shape.length).toBe(4);
    expect(c.q.data.every((x) => Number.isFinite(x))).toBe(true);
  });
  it('a 3D case without q_num_heads is a typed error naming the file and the attribute (not NaN-sized tensors)', () => {
    const dir = copyCase('test_attention_3d');
    patchModel(dir, 'q_num_heads', 'x_num_heads');
    const e = errorOf(() => readOnnxTestCase(dir));
    expect(e.code).toBe('MHA_INVALID_TYPE');
    expect(e.field).toBe('test_attention_3d/model.onnx: attribute q_num_heads');
  });
  it('a 3D case without kv_num_heads is refused the same way', () => {
    const dir = copyCase('test_attention_3d');
    patchModel(dir, 'kv_num_heads', 'kx_num_heads');
    expect(errorOf(() => readOnnxTestCase(dir)).field).toBe('test_attention_3d/model.onnx: attribute kv_num_heads');
  });
  it('a data file that is a FIFO is refused', () => {
    const dir = copyCase('test_attention_4d');
    const pb = join(dir, 'test_data_set_0', 'input_0.pb');
    rmSync(pb);
    expect(spawnSync('mkfifo', [pb]).status).toBe(0);
    const writer = spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(pb)}, '')`], { stdio: 'ignore' });
    try {
      expect(errorOf(() => readOnnxTestCase(dir))).toEqual({ code: 'MHA_INVALID_TYPE', field: pb });
    } finally {
      writer.kill();
    }
  });
});

describe('ONNX peer cases as shipped (onnx-peer.json, read with @mha/core alone)', () => {
  const shipped = () => JSON.parse(readFileSync(join(builtinOnnxPeerDir(), ONNX_PEER_FILE), 'utf8')) as { provenance: Record<string, string>; cases: Record<string, any>[] };
  it('holds exactly what the converter reads from the ONNX test files, bit for bit, with each file\'s SHA-256', () => {
    const fromOnnx = readOnnxTestCases(ONNX_TESTS);
    const loaded = loadOnnxPeerCases(builtinOnnxPeerDir());
    expect(loaded.map((c) => c.name)).toEqual(fromOnnx.map((c) => c.name));
    const bits = (t: { data: Float32Array | Uint8Array } | undefined) => (t === undefined ? undefined : Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
    for (const [i, c] of loaded.entries()) {
      const o = fromOnnx[i]!;
      expect({ ...c, q: bits(c.q), k: bits(c.k), v: bits(c.v), expected: bits(c.expected), expectedWeights: bits(c.expectedWeights), options: { ...c.options, mask: bits(c.options.mask) } }, c.name).toEqual({
        ...o,
        q: bits(o.q),
        k: bits(o.k),
        v: bits(o.v),
        expected: bits(o.expected),
        expectedWeights: bits(o.expectedWeights),
        options: { ...o.options, scale: o.options.scale ?? undefined, mask: bits(o.options.mask) },
      });
      expect([c.q, c.k, c.v, c.expected].map((t) => t.shape), c.name).toEqual([o.q, o.k, o.v, o.expected].map((t) => t.shape));
    }
    const file = shipped();
    expect(file.provenance.commit).toMatch(/^[0-9a-f]{40}$/);
    for (const c of file.cases) {
      expect(Object.keys(c.source.sha256), c.name).toContain('model.onnx');
      const model = readFileSync(join(ONNX_TESTS, c.source.dir, 'model.onnx'));
      expect(c.source.sha256['model.onnx']).toBe(createHash('sha256').update(model).digest('hex'));
    }
  });
  it('refuses a malformed file field by field, with typed errors', () => {
    const file = shipped();
    const bad = (patch: (c: Record<string, any>) => void) => {
      const copy = JSON.parse(JSON.stringify(file));
      patch(copy.cases[0]);
      return errorOf(() => parseOnnxPeerCases(copy));
    };
    expect(errorOf(() => parseOnnxPeerCases({ ...file, format: 'x' }))).toEqual({ code: 'MHA_INVALID_TYPE', field: `${ONNX_PEER_FILE}.format` });
    expect(bad((c) => (c.needs = ['teleport'])).code).toBe('MHA_INVALID_TYPE');
    expect(bad((c) => (c.q.data = c.q.data.slice(4))).code).toBe('MHA_SHAPE_MISMATCH');
    expect(bad((c) => (c.options.scale = 'big')).code).toBe('MHA_INVALID_TYPE');
    expect(bad((c) => (c.name = '../x')).code).toBe('MHA_INVALID_TYPE');
  });
  it('the published package depends on neither @mha/onnx nor protobufjs / onnx-proto, and ships no .onnx/.pb files', () => {
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as Record<string, Record<string, string> | string[]>;
    const runtime = { ...(pkg.dependencies as Record<string, string>), ...(pkg.peerDependencies as Record<string, string>) };
    expect(Object.keys(runtime).sort()).toEqual(['@mha/core', 'fast-check', 'vitest']);
    expect(pkg.files).toContain('!dist/onnx-peer-convert.*');
    const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'fixtures');
    expect(readdirSync(dist, { recursive: true }).map(String).filter((f) => /\.(onnx|pb)$/.test(f))).toEqual([]);
  });
});
