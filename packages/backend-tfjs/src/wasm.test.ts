// tfjs-wasm in Node: where the binaries come from, which one runs, and the wasmPaths option.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { tfjsWasm } from './index.js';
import { defaultNodeWasmDir } from './wasm-paths.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Runs the built package in a fresh process with the given backend options; prints the error code or 'ok'. */
function runWithOptions(options: unknown, print: 'code' | 'message' = 'code'): { status: number | null; stdout: string } {
  const script = `
    const { createTfjsBackend } = await import(process.env.MHA_DIST);
    const t = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 1, 2, 2] };
    try {
      await createTfjsBackend(JSON.parse(process.env.MHA_OPTIONS)).attention(t, t, t);
      console.log('ok');
    } catch (e) {
      console.log(process.env.MHA_PRINT === 'message' ? e.message : e.code ?? e.message);
    }
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, MHA_DIST: pathToFileURL(join(pkg, 'dist', 'index.js')).href, MHA_OPTIONS: JSON.stringify(options), MHA_PRINT: print, NODE_OPTIONS: '' },
    timeout: 300_000, // a hang guard only (5 minutes): a loaded machine may be slow
  });
  return { status: r.status, stdout: r.stdout.trim() };
}

describe('tfjs-wasm in Node', () => {
  it('finds the installed binaries: the dist/ directory of @tensorflow/tfjs-backend-wasm', async () => {
    const dir = (await defaultNodeWasmDir()) ?? '';
    expect(dir.endsWith('/')).toBe(true);
    expect(dir).toContain(join('@tensorflow', 'tfjs-backend-wasm', 'dist'));
    for (const f of BINARIES) expect(existsSync(dir + f), f).toBe(true);
  });

  it('runs the SIMD binary on one thread (tfjs disables wasm threads in Node)', async () => {
    const t = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 1, 2, 2] };
    await tfjsWasm.attention(t, t, t);
    expect(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')).toBe(true);
    expect(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(false);
    expect(getThreadsCount()).toBe(1);
  });

  it('the wasmPaths option is used for the first initialisation (file URLs work in Node)', async () => {
    const dir = (await defaultNodeWasmDir()) ?? '';
    const map = Object.fromEntries(BINARIES.map((f) => [f, pathToFileURL(dir + f).href]));
    expect(runWithOptions({ tfBackend: 'wasm', wasmPaths: pathToFileURL(dir).href + '/' })).toEqual({ status: 0, stdout: 'ok' });
    expect(runWithOptions({ tfBackend: 'wasm', wasmPaths: map })).toEqual({ status: 0, stdout: 'ok' });
    // Pointing at a directory without the binaries fails to initialise, which proves the option is honoured.
    expect(runWithOptions({ tfBackend: 'wasm', wasmPaths: pathToFileURL(pkg).href + '/no-such-dir/' })).toEqual({ status: 0, stdout: 'MHA_BACKEND_UNAVAILABLE' });
  });

  it('a failed initialisation names wasmPaths, what it was, and what it must point at', () => {
    const missing = pathToFileURL(pkg).href + '/no-such-dir/';
    const { stdout } = runWithOptions({ tfBackend: 'wasm', wasmPaths: missing }, 'message');
    expect(stdout).toContain(`failed to initialise in this environment (wasmPaths was "${missing}")`);
    expect(stdout).toContain("createTfjsBackend({ tfBackend: 'wasm', wasmPaths: '<URL of their folder, ending in />' })");
  });
});
