import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initWeights, isMhaError, MhaErrorCode, randomTensor, resolveConfig } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createTsBackend, type TsBackendOptions } from './index.js';
import { builtUrl, importBuilt } from './test-support/built.js';
import { expectSameBits } from './test-support/threads.js';

// The threaded backend as shipped: the built package, whose worker is dist/worker-node.js.
const built = await importBuilt();
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
afterAll(() => built.tsThreadsBackend.dispose());

describe('ts-threads backend', () => {
  it("tsThreadsBackend: named 'ts-threads', 2 threads here, same runtimes and capabilities as 'ts'", () => {
    const b = built.tsThreadsBackend;
    expect(b.name).toBe('ts-threads');
    expect(b.threads).toBe(2);
    expect(b.threadsUnavailable).toBeUndefined();
    expect(b.runtimes).toEqual(built.tsBackend.runtimes);
    expect(b.capabilities).toEqual(built.tsBackend.capabilities);
    expect(built.tsBackend.threads).toBe(1);
    expect(built.backends.map((x) => x.name)).toEqual(['ts', 'ts-threads']);
  });

  it('a GPT-2-sized layer (T 160) with the default work threshold: bit-identical to tsBackend, weights and trace too', async () => {
    const cfg = resolveConfig({ dIn: 768, heads: 12, dOut: 768, causal: true, qkvBias: true, outProj: true, outProjBias: true });
    const weights = initWeights(cfg, 11);
    const x = randomTensor([2, 80, 768], 12);
    const single = await built.tsBackend.createModule(cfg, weights);
    const threaded = await built.tsThreadsBackend.createModule(cfg, weights);
    try {
      expect(threaded.backend).toBe('ts-threads');
      const want = await single.forward(x, { returnAttentionWeights: true, trace: true });
      const got = await threaded.forward(x, { returnAttentionWeights: true, trace: true });
      expectSameBits(got.output.data, want.output.data, 'output');
      expectSameBits(got.attentionWeights!.data, want.attentionWeights!.data, 'attention weights');
      expect(got.trace).toEqual(want.trace);
    } finally {
      await single.dispose();
      await threaded.dispose();
    }
  }, 30_000);

  it('backend.dispose() stops the workers; its modules keep working (new workers start)', async () => {
    const b = built.createTsBackend({ threads: 3, minWorkPerThread: 0 });
    const cfg = resolveConfig({ dIn: 16, heads: 4, headDim: 4, causal: false, qkvBias: true });
    const weights = initWeights(cfg, 2);
    const x = randomTensor([3, 17, 16], 3);
    const ref = await built.tsBackend.createModule(cfg, weights);
    const m = await b.createModule(cfg, weights);
    const want = (await ref.forward(x)).output.data;
    expectSameBits((await m.forward(x)).output.data, want, 'before backend.dispose()');
    await b.dispose();
    expectSameBits((await m.forward(x)).output.data, want, 'after backend.dispose()');
    await m.dispose();
    await b.dispose();
    await ref.dispose();
  });

  it('the core op (always on the calling thread) matches tsBackend', async () => {
    const q = randomTensor([2, 4, 9, 8], 1);
    const k = randomTensor([2, 2, 9, 8], 2);
    const v = randomTensor([2, 2, 9, 8], 3);
    const want = await built.tsBackend.attention(q, k, v, { causal: true, returnWeights: true });
    const got = await built.tsThreadsBackend.attention(q, k, v, { causal: true, returnWeights: true });
    expectSameBits(got.output.data, want.output.data, 'output');
    expectSameBits(got.weights!.data, want.weights!.data, 'weights');
  });

  it("threads: 1 is the plain single-threaded backend, named 'ts'", () => {
    const b = createTsBackend({ threads: 1 });
    expect(b.name).toBe('ts');
    expect(b.threads).toBe(1);
    expect(b.threadsUnavailable).toBeUndefined();
    expect(createTsBackend({ threads: 4, name: 'mine' }).name).toBe('mine');
  });

  it('rejects bad thread options with typed errors', () => {
    const code = (options: unknown) => {
      try {
        createTsBackend(options as TsBackendOptions);
      } catch (e) {
        return isMhaError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(code({ threads: '2' })).toBe(MhaErrorCode.InvalidType);
    for (const threads of [0, -1, 1.5, NaN, Infinity, 257]) expect(code({ threads })).toBe(MhaErrorCode.InvalidOption);
    expect(code({ threads: 256 })).toBe('none');
    expect(code({ minWorkPerThread: '0' })).toBe(MhaErrorCode.InvalidType);
    for (const minWorkPerThread of [-1, NaN, Infinity]) expect(code({ minWorkPerThread })).toBe(MhaErrorCode.InvalidOption);
    expect(code({ minWorkPerThread: 0 })).toBe('none');
  });
});

/** Runs an ES module in a fresh Node process (cwd: this package), with a hard time limit. */
function runNode(code: string, timeoutMs = 15_000) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: packageDir, encoding: 'utf8', timeout: timeoutMs });
  return { ...r, ms: Date.now() - started, timedOut: r.error !== undefined || r.signal !== null };
}

const childPrelude = `
import { initWeights, randomTensor, resolveConfig } from '@mha/core';
const built = await import(${JSON.stringify(builtUrl('index.js'))});
const cfg = resolveConfig({ dIn: 32, heads: 4, headDim: 8, causal: true, qkvBias: true });
const weights = initWeights(cfg, 1);
const x = randomTensor([2, 24, 32], 2);
const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)).join(',');
const want = bits((await (await built.tsBackend.createModule(cfg, weights)).forward(x)).output.data);
`;

describe('ts-threads in a fresh Node process', () => {
  it('create, forward, dispose module and backend: the process exits by itself, promptly', () => {
    const r = runNode(`${childPrelude}
const b = built.createTsBackend({ threads: 2, minWorkPerThread: 0 });
const m = await b.createModule(cfg, weights);
const got = bits((await m.forward(x)).output.data);
await m.dispose();
await b.dispose();
console.log(got === want ? 'identical' : 'DIFFERENT');
`);
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('identical');
    expect(r.status).toBe(0);
    expect(r.ms).toBeLessThan(5_000);
  }, 20_000);

  it('nothing disposed: idle workers do not keep the process alive, busy ones do (top-level await completes)', () => {
    const r = runNode(`${childPrelude}
const b = built.createTsBackend({ threads: 3, minWorkPerThread: 0 });
const m = await b.createModule(cfg, weights);
const got = bits((await m.forward(x)).output.data);
console.log(got === want ? 'identical' : 'DIFFERENT');
`);
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('identical');
    expect(r.status).toBe(0); // 13 would mean the forward's promise was left unsettled at exit
    expect(r.ms).toBeLessThan(5_000);
  }, 20_000);

  it('without SharedArrayBuffer the package loads, reports 1 thread and why, and computes the same result', () => {
    const r = runNode(`
delete globalThis.SharedArrayBuffer;
${childPrelude}
const b = built.tsThreadsBackend;
const m = await b.createModule(cfg, weights);
const got = bits((await m.forward(x)).output.data);
console.log(JSON.stringify({ name: b.name, threads: b.threads, reason: b.threadsUnavailable, same: got === want }));
`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ name: 'ts-threads', threads: 1, reason: expect.stringMatching(/SharedArrayBuffer is unavailable/), same: true });
  }, 20_000);
});
