// Importing and running the package prints nothing. Checked in a fresh Node process (so nothing else has
// touched tfjs yet) on the built package, exactly as a user imports it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkg, 'dist', 'index.js');

function runNode(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, MHA_DIST: pathToFileURL(dist).href, NODE_OPTIONS: '' },
    timeout: 300_000, // a hang guard only (5 minutes): a loaded machine may be slow
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Imports the package twice (two module instances, as with two installed copies), runs everything on both backends. */
const USE_PACKAGE = `
const first = await import(process.env.MHA_DIST + '?copy=1');
const second = await import(process.env.MHA_DIST + '?copy=2');
const { initWeights, randomTensor, referenceForward, referenceAttention, resolveConfig } = await import('@mha/core');
const cfg = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true, qkvBias: true });
const w = initWeights(cfg, 1);
const x = randomTensor([2, 5, 8], 2);
const q = randomTensor([1, 2, 3, 4], 3);
const expected = referenceForward(cfg, w, x).output.data;
const expectedCore = referenceAttention(q, q, q, { causal: true }).output.data;
const close = (a, e) => e.every((v, i) => Math.abs(a[i] - v) <= 1e-5 + 1e-4 * Math.abs(v));
const backends = [first.tfjsCpu, first.tfjsWasm, second.tfjsCpu, second.tfjsWasm];
const modules = await Promise.all(backends.map((b) => b.createModule(cfg, w)));
const outs = await Promise.all(modules.flatMap((m) => [m.forward(x, { trace: true }), m.forward(x, { returnAttentionWeights: true })]));
const cores = await Promise.all(backends.map((b) => b.attention(q, q, q, { causal: true })));
await Promise.all(modules.map((m) => m.dispose()));
if (!outs.every((r) => close(r.output.data, expected)) || !cores.every((r) => close(r.output.data, expectedCore))) process.exitCode = 3;
`;

describe('quiet in Node', () => {
  it('the built package is current', () => {
    expect(existsSync(dist), 'dist/index.js missing: run `pnpm --filter @mha/backend-tfjs build`').toBe(true);
    const built = statSync(dist).mtimeMs;
    const stale = readdirSync(join(pkg, 'src')).filter((f) => f.endsWith('.ts') && !f.includes('test') && statSync(join(pkg, 'src', f)).mtimeMs > built);
    expect(stale, 'src is newer than dist: run `pnpm --filter @mha/backend-tfjs build`').toEqual([]);
  });

  it("control: plain tfjs-backend-cpu in Node prints the 'install tfjs-node' banner on its first tensor", () => {
    const r = runNode(`
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-cpu');
      await tf.setBackend('cpu');
      tf.tensor1d([1]).dispose();
    `);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('https://github.com/tensorflow/tfjs-node');
  });

  it('importing the package twice and running modules and the core op on cpu and wasm prints nothing', () => {
    const r = runNode(USE_PACKAGE);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('importing alone prints nothing and initialises no tfjs backend', () => {
    const r = runNode(`
      await import(process.env.MHA_DIST);
      const tf = await import('@tensorflow/tfjs-core');
      if (Object.keys(tf.engine().registry).length !== 0) process.exitCode = 4;
    `);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
