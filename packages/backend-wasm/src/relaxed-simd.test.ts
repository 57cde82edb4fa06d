// The relaxed-SIMD build (fused multiply-add) through the whole conformance suite and the online-softmax
// kernel tests, in child Node processes started with the flag that Node 20 needs for relaxed SIMD (later
// Node versions ignore it or have the feature on). Uses the built package (dist/), like the conformance CLI.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FLAG = '--experimental-wasm-relaxed-simd';
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const cli = fileURLToPath(import.meta.resolve('@mha/conformance/package.json').replace(/package\.json$/, 'dist/cli.js'));
const vitest = fileURLToPath(import.meta.resolve('vitest/package.json').replace(/package\.json$/, 'vitest.mjs'));
const node = (args: string[]) => spawnSync(process.execPath, [FLAG, ...args], { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });

describe('relaxed SIMD build', () => {
  it('is what the default backend picks where the runtime has relaxed SIMD', () => {
    const r = node(['--input-type=module', '-e', `const m = await import(${JSON.stringify(dist)}); console.log(m.wasmBackend.simd, m.createWasmBackend({ simd: 'simd' }).simd);`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('relaxed simd');
  });

  it('passes the shared conformance suite', () => {
    const r = node([cli, '--backend', dist]);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/wasm/);
  });

  it('passes the online-softmax kernel tests (src/attention-flash.test.ts)', () => {
    const r = spawnSync(process.execPath, [vitest, 'run', 'src/attention-flash.test.ts', `--execArgv=${FLAG}`, '--reporter=verbose'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, MHA_WASM_BUILT: '1', MHA_WASM_TEST_FLAVOUR: 'relaxed' },
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 64 << 20,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The describe names the build: a child that could not run relaxed SIMD would run no test.
    expect(r.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/online softmax, relaxed build > T 1031, d 64, causal/);
  });
});
