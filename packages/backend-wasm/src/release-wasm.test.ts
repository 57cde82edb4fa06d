// The release lint's WebAssembly check (scripts/release/lib/wasm.mjs) on this package: it passes on the
// bytes the build produced, and fails on corrupted, stale, unrecorded, missing or invalid bytes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Finding {
  level: string;
  message: string;
}
interface Packed {
  root: string;
  files: string[];
  manifest: unknown;
}
type Compile = () => Promise<Record<string, Uint8Array>>;
interface WasmCheck {
  checkPackedWasm(packed: Packed, pkgDir: string, opts?: { compile?: Compile }): Promise<Finding[]>;
  validateWasm(bytes: Uint8Array, features?: string[]): { ok: boolean; where: string };
}
interface RecordEntry {
  export: string;
  bytes: number;
  sha256: string;
  features: string[];
}

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'mha-release-wasm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let lint: WasmCheck;
let fresh: Record<string, Uint8Array>;
const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { mhaRelease: { wasm: { module: string } } };
const record = JSON.parse(readFileSync(join(pkgDir, 'build', 'manifest.json'), 'utf8')) as Record<string, RecordEntry>;
// Without its source-map comment: the copies below have no .map beside them.
const builtModule = readFileSync(join(pkgDir, 'dist', 'wasm-binary.js'), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');

beforeAll(async () => {
  lint = (await import(new URL('../../../scripts/release/lib/wasm.mjs', import.meta.url).href)) as WasmCheck;
  fresh = await ((await import(new URL('../scripts/compile.mjs', import.meta.url).href)) as { compileVariants: Compile }).compileVariants();
});

let n = 0;
/** A packed package holding `moduleText` as dist/wasm-binary.js, and a package folder holding `rec` as its build record. */
function fixture(moduleText: string | undefined, rec: Record<string, RecordEntry> = record): { packed: Packed; dir: string } {
  const root = join(tmp, `packed-${++n}`);
  const dir = join(tmp, `pkg-${n}`);
  mkdirSync(join(root, 'dist'), { recursive: true });
  mkdirSync(join(dir, 'build'), { recursive: true });
  const files: string[] = [];
  if (moduleText !== undefined) {
    writeFileSync(join(root, 'dist', 'wasm-binary.js'), moduleText);
    files.push('dist/wasm-binary.js');
  }
  writeFileSync(join(dir, 'build', 'manifest.json'), JSON.stringify(rec));
  return { packed: { root, files, manifest }, dir };
}
const errors = (f: Finding[]) => f.filter((x) => x.level === 'error').map((x) => x.message);
const b64Of = (text: string, name: string) => new RegExp(`export const ${name} = '([^']*)'`).exec(text)![1]!;
const withB64 = (text: string, name: string, bytes: Uint8Array) => text.replace(b64Of(text, name), Buffer.from(bytes).toString('base64'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('release lint: the packed WebAssembly', () => {
  it('the bytes the build produced pass (recorded, fresh compile, validated; relaxed SIMD behind its flag where needed)', async () => {
    expect(Object.keys(record).sort()).toEqual(['relaxed', 'simd', 'threads']);
    const { packed } = fixture(builtModule);
    expect(errors(await lint.checkPackedWasm(packed, pkgDir))).toEqual([]);
  });

  it('the compiler gives the recorded bytes from any working directory (the lint runs from the repository root)', () => {
    const script = `const { compileVariants } = await import(${JSON.stringify(new URL('../scripts/compile.mjs', import.meta.url).href)});
const { createHash } = await import('node:crypto');
const r = await compileVariants();
process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')]))));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: tmp, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v.sha256])));
  });

  it('one flipped byte in a packed module fails: not the recorded bytes, and not what the sources compile to', async () => {
    const bytes = new Uint8Array(Buffer.from(b64Of(builtModule, 'SIMD_WASM_BASE64'), 'base64'));
    bytes[bytes.length - 3]! ^= 0x01;
    const { packed } = fixture(withB64(builtModule, 'SIMD_WASM_BASE64', bytes));
    const e = errors(await lint.checkPackedWasm(packed, pkgDir, { compile: async () => fresh }));
    expect(e.some((m) => /packed simd module .* is not the one the build recorded/.test(m))).toBe(true);
    expect(e.some((m) => /packed simd module .* is stale/.test(m))).toBe(true);
    expect(e.every((m) => /simd/.test(m))).toBe(true);
  });

  it('stale bytes fail: packed and recorded agree, but the sources now compile to something else', async () => {
    const changed = { ...fresh, relaxed: Uint8Array.from([...fresh.relaxed!, 0]) };
    const { packed } = fixture(builtModule);
    const e = errors(await lint.checkPackedWasm(packed, pkgDir, { compile: async () => changed }));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/packed relaxed module .* is stale: the sources compile to/);
  });

  it('bytes WebAssembly.validate refuses fail, even when the record matches them', async () => {
    const bad = new Uint8Array(Buffer.from(b64Of(builtModule, 'THREADS_WASM_BASE64'), 'base64'));
    bad[bad.length - 1] = 0xff; // the last function body no longer ends with `end`
    const rec = { ...record, threads: { ...record.threads!, sha256: sha(bad) } };
    const { packed, dir } = fixture(withB64(builtModule, 'THREADS_WASM_BASE64', bad), rec);
    const e = errors(await lint.checkPackedWasm(packed, dir, { compile: async () => ({ ...fresh, threads: bad }) }));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/WebAssembly\.validate refuses the packed threads module/);
  });

  it('a missing module, a missing export and an unrecorded export fail', async () => {
    const none = fixture(undefined);
    expect(errors(await lint.checkPackedWasm(none.packed, none.dir, { compile: async () => fresh }))).toEqual([expect.stringMatching(/dist\/wasm-binary\.js.* is not in the tarball/)]);
    const text = builtModule.replace(/export const RELAXED_WASM_BASE64 = '[^']*';/, '') + "\nexport const EXTRA_WASM_BASE64 = 'AGFzbQEAAAA=';\n";
    const { packed } = fixture(text);
    const e = errors(await lint.checkPackedWasm(packed, pkgDir, { compile: async () => fresh }));
    expect(e).toEqual(expect.arrayContaining([expect.stringMatching(/exports EXTRA_WASM_BASE64, which the build record does not list/), expect.stringMatching(/has no RELAXED_WASM_BASE64/)]));
  });

  it('validateWasm needs the flag for relaxed SIMD only where the runtime lacks it, and never accepts garbage', () => {
    const relaxed = fresh.relaxed!;
    expect(lint.validateWasm(relaxed, ['simd', 'relaxed-simd']).ok).toBe(true);
    expect(lint.validateWasm(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]), ['simd', 'relaxed-simd']).ok).toBe(false);
  });
});
