import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
  });

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

  it('backend.dispose() called twice at once: each call resolves only once the workers have stopped', async () => {
    const b = built.createTsBackend({ threads: 3, minWorkPerThread: 0 });
    const cfg = resolveConfig({ dIn: 16, heads: 4, headDim: 4, causal: true });
    const m = await b.createModule(cfg, initWeights(cfg, 2));
    await m.forward(randomTensor([2, 9, 16], 3));
    expect(b.diagnostics()).toMatchObject({ workers: 2, modules: 1 });
    const order: string[] = [];
    const first = b.dispose().then(() => order.push(`first: ${b.diagnostics().workers} workers`));
    const second = b.dispose().then(() => order.push(`second: ${b.diagnostics().workers} workers`));
    await Promise.all([first, second]);
    expect(order.sort()).toEqual(['first: 0 workers', 'second: 0 workers']);
    await m.dispose();
    expect(b.diagnostics()).toEqual({ modules: 0, workers: 0, workerModules: 0, pinnedBytes: 0 });
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

// Child processes: only a hang guard (5 minutes), never a limit a slow or loaded machine could reach;
// no assertion on how long anything took.
const HANG_GUARD_MS = 300_000;
const coreUrl = pathToFileURL(createRequire(join(packageDir, 'package.json')).resolve('@mha/core')).href;
const scripts = mkdtempSync(join(tmpdir(), 'mha-ts-threads-'));
afterAll(() => rmSync(scripts, { recursive: true, force: true }));

/**
 * Runs an ES module in a fresh Node process (cwd: this package) with `flags` before it: as
 * `node <flags> --input-type=module -e <code>` (`how: 'eval'`) or as a script file (`how: 'file'`).
 */
function runNode(code: string, flags: readonly string[] = [], how: 'eval' | 'file' = 'eval') {
  let args: string[];
  if (how === 'eval') {
    args = [...flags, '--input-type=module', '-e', code];
  } else {
    const file = join(scripts, `child-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, code);
    args = [...flags, file];
  }
  const r = spawnSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8', timeout: HANG_GUARD_MS });
  return { ...r, timedOut: r.error !== undefined || r.signal !== null };
}

const childPrelude = `
import { initWeights, randomTensor, resolveConfig } from ${JSON.stringify(coreUrl)};
const built = await import(${JSON.stringify(builtUrl('index.js'))});
const cfg = resolveConfig({ dIn: 32, heads: 4, headDim: 8, causal: true, qkvBias: true });
const weights = initWeights(cfg, 1);
const x = randomTensor([2, 24, 32], 2);
const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)).join(',');
const want = bits((await (await built.tsBackend.createModule(cfg, weights)).forward(x)).output.data);
`;

describe('ts-threads in a fresh Node process', () => {
  it('create, forward, dispose module and backend: the process exits by itself', () => {
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
  });

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
  });

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
  });

  // Flags people start Node with. Node refuses V8 and per-process flags in an explicit worker execArgv
  // (ERR_WORKER_INVALID_EXEC_ARGV), while a worker inheriting them starts fine.
  const commonFlags = ['--max-old-space-size=512', '--expose-gc', '--stack-size=2000', '--max-semi-space-size=16', '--title=mha-threads-test', '--enable-source-maps'];
  for (const how of ['eval', 'file'] as const) {
    it(`workers start under ${commonFlags.join(' ')} (main script from ${how === 'eval' ? '--input-type=module -e' : 'a file'}), and compute the same bits`, () => {
      const r = runNode(
        `${childPrelude}
const b = built.createTsBackend({ threads: 2, minWorkPerThread: 0 });
const m = await b.createModule(cfg, weights);
const got = bits((await m.forward(x)).output.data);
const d = b.diagnostics();
await m.dispose();
await b.dispose();
console.log(JSON.stringify({ threads: b.threads, reason: b.threadsUnavailable ?? null, workers: d.workers, workerModules: d.workerModules, same: got === want }));
`,
        commonFlags,
        how,
      );
      expect(r.timedOut, r.stderr).toBe(false);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ threads: 2, reason: null, workers: 1, workerModules: 1, same: true });
      expect(r.status).toBe(0);
    });
  }

  it('when the runtime refuses to start workers, forwards run on one thread (same bits) and threads / threadsUnavailable say so', () => {
    const r = runNode(`
import { createRequire, syncBuiltinESMExports } from 'node:module';
const threads = createRequire(import.meta.url)('node:worker_threads');
threads.Worker = class { constructor() { throw new Error('this host allows no threads'); } };
syncBuiltinESMExports();
${childPrelude}
const b = built.createTsBackend({ threads: 2, minWorkPerThread: 0 });
const before = b.threads;
const m = await b.createModule(cfg, weights);
const got = bits((await m.forward(x)).output.data);
console.log(JSON.stringify({ before, after: b.threads, reason: b.threadsUnavailable, workers: b.diagnostics().workers, same: got === want }));
`);
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ before: 2, after: 1, reason: expect.stringMatching(/worker threads could not be started: this host allows no threads/), workers: 0, same: true });
  });

  it('modules dropped without dispose(): once garbage-collected, the workers release their weights (diagnostics go back)', () => {
    const dropped = 12;
    const r = runNode(
      `${childPrelude}
const big = resolveConfig({ dIn: 128, heads: 4, dOut: 128, causal: true, qkvBias: true });
const bigWeights = initWeights(big, 3);
const bigX = randomTensor([1, 16, 128], 4);
const b = built.createTsBackend({ threads: 2, minWorkPerThread: 0 });
const kept = await b.createModule(big, bigWeights);
await kept.forward(bigX);
const one = b.diagnostics();
// Held until 'during' is read (a GC while they are built must not collect one early), then dropped
// without dispose().
// In a function of its own, so no frame of the caller still holds the last module.
async function useAndDrop() {
  const held = [];
  for (let i = 0; i < ${dropped}; i++) {
    const m = await b.createModule(big, bigWeights);
    await m.forward(bigX);
    held.push(m);
  }
  return b.diagnostics();
}
const during = await useAndDrop();
// Collection and finalisation run when the engine decides: collect, yield, re-check, a bounded number of times.
let rounds = 0;
while (b.diagnostics().modules > 1 && rounds < 200) {
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 0));
  rounds++;
}
const after = b.diagnostics();
await kept.dispose();
const disposed = b.diagnostics();
await b.dispose();
console.log(JSON.stringify({ one, during, after, disposed, stopped: b.diagnostics() }));
`,
      ['--expose-gc'],
    );
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.stderr).toBe('');
    const d = JSON.parse(r.stdout) as Record<'one' | 'during' | 'after' | 'disposed' | 'stopped', { modules: number; workers: number; workerModules: number; pinnedBytes: number }>;
    // Packed weights are float64: at least 8 bytes per weight of wq | wk | wv, wo and the biases.
    const minBytes = 8 * (128 * 3 * 128 + 3 * 128 + 128 * 128 + 128);
    expect(d.one).toEqual({ modules: 1, workers: 1, workerModules: 1, pinnedBytes: expect.any(Number) });
    expect(d.one.pinnedBytes).toBeGreaterThanOrEqual(minBytes);
    expect(d.during).toEqual({ modules: 1 + dropped, workers: 1, workerModules: 1 + dropped, pinnedBytes: (1 + dropped) * d.one.pinnedBytes });
    expect(d.after).toEqual(d.one);
    expect(d.disposed).toEqual({ modules: 0, workers: 1, workerModules: 0, pinnedBytes: 0 });
    expect(d.stopped).toEqual({ modules: 0, workers: 0, workerModules: 0, pinnedBytes: 0 });
  });

  it('once the workers have dropped more than RECYCLE_BYTES of collected weights they are replaced, so the memory is really freed; kept modules go on', () => {
    // 10 modules of ~8.4 MB of packed weights each: more than RECYCLE_BYTES (64 MiB) in all.
    const r = runNode(
      `${childPrelude}
const { RECYCLE_BYTES } = await import(${JSON.stringify(builtUrl('worker-pool.js'))});
const big = resolveConfig({ dIn: 512, heads: 8, dOut: 512 });
const bigWeights = initWeights(big, 5);
const bigX = randomTensor([1, 8, 512], 6);
const b = built.createTsBackend({ threads: 2, minWorkPerThread: 0 });
const kept = await b.createModule(cfg, weights);
const first = bits((await kept.forward(x)).output.data);
// Held until 'during' is read: a GC that runs while they are built (allocation pressure) must not
// collect one early; then all of them are dropped without dispose().
// In a function of its own, so no frame of the caller still holds the last module.
async function useAndDrop() {
  const held = [];
  for (let i = 0; i < 10; i++) {
    const m = await b.createModule(big, bigWeights);
    await m.forward(bigX);
    held.push(m);
  }
  return b.diagnostics();
}
const during = await useAndDrop();
let rounds = 0;
while ((b.diagnostics().modules > 1 || b.diagnostics().workers > 0) && rounds < 200) {
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 0));
  rounds++;
}
const after = b.diagnostics();
const again = bits((await kept.forward(x)).output.data);
const resumed = b.diagnostics();
await b.dispose();
console.log(JSON.stringify({ recycleBytes: RECYCLE_BYTES, during, after, resumed, same: first === want && again === want }));
`,
      ['--expose-gc'],
    );
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.stderr).toBe('');
    const d = JSON.parse(r.stdout) as { recycleBytes: number; during: Record<string, number>; after: Record<string, number>; resumed: Record<string, number>; same: boolean };
    expect(d.during.modules).toBe(11);
    expect(d.during.pinnedBytes).toBeGreaterThan(d.recycleBytes);
    expect(d.after).toEqual({ modules: 1, workers: 0, workerModules: 0, pinnedBytes: 0 });
    expect(d.resumed).toMatchObject({ modules: 1, workers: 1, workerModules: 1 });
    expect(d.same).toBe(true);
  });
});
