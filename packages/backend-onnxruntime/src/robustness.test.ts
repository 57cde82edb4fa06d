// Regression tests: masks at float32's edge, bool mask bytes, scales <= 0, shared buffers, float32
// overflow, onnxruntime failures, thread pools and concurrent dispose. Oracles: core's float64 reference.
import { existsSync, readFileSync } from 'node:fs';
import { initWeights, isMhaError, randomTensor, referenceAttention, referenceForward, resolveConfig, type AttentionMask, type AttentionOptions, type Tensor } from '@mha/core';
import { InferenceSession } from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOrtBackend, ortAttentionOp, ortDecomposed } from './index.js';
import { expectClose } from './test-helpers.js';

// onnxruntime types InferenceSession as a factory; at runtime it is the class whose instances create() returns.
const sessionPrototype = (InferenceSession as unknown as { prototype: InferenceSession }).prototype;

afterEach(() => vi.restoreAllMocks());

/** float32's most negative finite value. */
const LOWEST = -3.4028234663852886e38;
/** The float32 value one ulp above it. */
const NEXT = -3.4028232635611926e38;

const additive = (shape: number[], values: number[]): AttentionMask => ({ kind: 'additive', data: Float32Array.from(values), shape });

/** Runs the core op with and without weights and compares both with the float64 reference. */
async function expectCoreOpMatchesReference(backend: typeof ortAttentionOp, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions, what: string): Promise<void> {
  const ref = referenceAttention(q, k, v, options);
  const r = await backend.attention(q, k, v, { ...options, returnWeights: true });
  expectClose(r.output.data, ref.output.data, `${what}: output`);
  expectClose(r.weights!.data, ref.weights.data, `${what}: weights`);
  expectClose((await backend.attention(q, k, v, options)).output.data, ref.output.data, `${what}: output without weights`);
}

function shared(t: Tensor): Tensor {
  const data = new Float32Array(new SharedArrayBuffer(t.data.length * 4));
  data.set(t.data);
  return { data, shape: t.shape };
}

describe.each([ortAttentionOp, ortDecomposed])('$name', (backend) => {
  const q = randomTensor([2, 2, 3, 4], 1);
  const k = randomTensor([2, 2, 4, 4], 2);
  const v = randomTensor([2, 2, 4, 5], 3);

  it('an additive mask of float32 lowest is a number that is added, not a mask (only -Infinity masks)', async () => {
    // Rows: all lowest (uniform weights), lowest mixed with normal values, lowest next to the value one
    // ulp above it (the weight goes to the latter), -Infinity next to lowest, and all -Infinity (zeros).
    const rows = [
      [LOWEST, LOWEST, LOWEST, LOWEST],
      [LOWEST, 0.5, LOWEST, -1],
      [LOWEST, NEXT, NEXT, LOWEST],
    ];
    await expectCoreOpMatchesReference(backend, q, k, v, { mask: additive([3, 4], rows.flat()) }, 'rank 2');
    const rank4 = [-Infinity, LOWEST, LOWEST, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, LOWEST, 2, -3.4e38, 0];
    await expectCoreOpMatchesReference(backend, q, k, v, { mask: additive([1, 1, 3, 4], rank4) }, 'rank 4');
    await expectCoreOpMatchesReference(backend, q, k, v, { causal: true, mask: additive([1, 4], [LOWEST, LOWEST, LOWEST, LOWEST]) }, 'causal');
    await expectCoreOpMatchesReference(backend, q, k, v, { softcap: 2, mask: additive([3, 4], rows.flat()) }, 'softcap');
    const dead = await backend.attention(q, k, v, { mask: additive([1, 4], [-Infinity, -Infinity, -Infinity, -Infinity]), returnWeights: true });
    expect(Array.from(dead.weights!.data).every((w) => w === 0)).toBe(true);
    expect(Array.from(dead.output.data).every((o) => o === 0)).toBe(true);
  });

  it('bool mask bytes 2, 128 and 255 attend like 1', async () => {
    const bytes = Uint8Array.from([2, 0, 128, 255, 0, 0, 0, 7, 1, 255, 128, 0]);
    const mask: AttentionMask = { kind: 'bool', data: bytes, shape: [3, 4] };
    const ones: AttentionMask = { kind: 'bool', data: bytes.map((b) => (b === 0 ? 0 : 1)), shape: [3, 4] };
    await expectCoreOpMatchesReference(backend, q, k, v, { mask }, 'raw bytes');
    const r = await backend.attention(q, k, v, { mask, returnWeights: true });
    const r01 = await backend.attention(q, k, v, { mask: ones, returnWeights: true });
    expect(Array.from(r.weights!.data)).toEqual(Array.from(r01.weights!.data));
  });

  it('computes scales 0, -0, negative and one that rounds to 0 in float32 (core op and module)', async () => {
    for (const scale of [0, -0, -0.7, -3, 1e-50, -1e-50]) {
      await expectCoreOpMatchesReference(backend, q, k, v, { scale }, `core op, scale ${scale}`);
      await expectCoreOpMatchesReference(backend, q, k, v, { scale, causal: true, softcap: 1.5 }, `core op, causal softcap, scale ${scale}`);
      const config = resolveConfig({ dIn: 6, dOut: 8, heads: 2, causal: true, scale });
      const weights = initWeights(config, 4);
      const x = randomTensor([2, 3, 6], 5);
      const ref = referenceForward(config, weights, x);
      const m = await backend.createModule(config, weights);
      try {
        const r = await m.forward(x, { returnAttentionWeights: true });
        expectClose(r.output.data, ref.output.data, `module, scale ${scale}: output`);
        expectClose(r.attentionWeights!.data, ref.attentionWeights.data, `module, scale ${scale}: weights`);
        expectClose((await m.forward(x)).output.data, ref.output.data, `module, scale ${scale}: plain output`);
      } finally {
        await m.dispose();
      }
    }
  });

  it('accepts Float32Arrays over a SharedArrayBuffer (x, q/k/v, additive mask)', async () => {
    const mask = additive([3, 4], [0, -1, -Infinity, 2, 0, 0, 0, 0, -Infinity, 1, 1, 1]);
    const sharedMask: AttentionMask = { kind: 'additive', data: shared({ data: mask.data as Float32Array, shape: [12] }).data, shape: [3, 4] };
    const ref = referenceAttention(q, k, v, { mask });
    const r = await backend.attention(shared(q), shared(k), shared(v), { mask: sharedMask, returnWeights: true });
    expectClose(r.output.data, ref.output.data, 'core op output');
    expectClose(r.weights!.data, ref.weights.data, 'core op weights');
    const config = resolveConfig({ dIn: 4, dOut: 4, heads: 2, causal: true });
    const weights = initWeights(config, 6);
    const x = randomTensor([1, 3, 4], 7);
    const m = await backend.createModule(config, weights);
    try {
      expectClose((await m.forward(shared(x))).output.data, referenceForward(config, weights, x).output.data, 'module output');
      expectClose((await m.forward(shared(x), { returnAttentionWeights: true })).output.data, referenceForward(config, weights, x).output.data, 'module output with weights');
    } finally {
      await m.dispose();
    }
  });

  it('float32 overflow gives the reference answer or NaN/Infinity (an overflow core reports), never a finite wrong number', async () => {
    // q.k is about -1e39 and -2e39 (beyond float32): the reference gives weights [1, 0].
    const oq: Tensor = { data: Float32Array.from([1e20, 1e20]), shape: [1, 1, 1, 2] };
    const ok: Tensor = { data: Float32Array.from([-5e18, -5e18, -1e19, -1e19]), shape: [1, 1, 2, 2] };
    const ov: Tensor = { data: Float32Array.from([1, 2, 3, 4]), shape: [1, 1, 2, 2] };
    // Partial sums of q.k overflow while the whole (-2e38) does not; under softcap a +inf partial sum
    // would come out as +softcap instead of about -2.
    const sq: Tensor = { data: Float32Array.from([1, 1, 1, 1]), shape: [1, 1, 1, 4] };
    const sk: Tensor = { data: Float32Array.from([2e38, 2e38, -3e38, -3e38, 0, 0, 0, 0]), shape: [1, 1, 2, 4] };
    const cases: [Tensor, Tensor, AttentionOptions][] = [
      ...[{ scale: 1 }, { scale: 1, mask: additive([1, 2], [0, 0]) }, { scale: 1e-38, softcap: 20 }, { scale: 1e-38 }, { scale: 1, causal: true }, { scale: -3e38, softcap: 5 }].map(
        (o): [Tensor, Tensor, AttentionOptions] => [oq, ok, o],
      ),
      [sq, sk, { scale: 1e-38, softcap: 20 }],
      [sq, sk, { scale: -1e-38, softcap: 20, mask: additive([1, 2], [0, -1]) }],
    ];
    for (const [cq, ck, options] of cases) {
      const ref = referenceAttention(cq, ck, ov, options);
      let r;
      try {
        r = await backend.attention(cq, ck, ov, { ...options, returnWeights: true });
      } catch (e) {
        expect(isMhaError(e) && (e as { code: string }).code === 'MHA_OVERFLOW', `${JSON.stringify(options)}: ${String(e)}`).toBe(true);
        continue;
      }
      const all = [...r.output.data, ...r.weights!.data];
      if (all.every(Number.isFinite)) {
        expectClose(r.output.data, ref.output.data, `${JSON.stringify(options)}: output`);
        expectClose(r.weights!.data, ref.weights.data, `${JSON.stringify(options)}: weights`);
      }
    }
  });

  it('onnxruntime failures (session creation, run) become MHA_BACKEND_UNAVAILABLE with the original as cause', async () => {
    const b = createOrtBackend({ flavour: backend.options.flavour });
    const config = resolveConfig({ dIn: 4, dOut: 4, heads: 2 });
    const weights = initWeights(config, 1);
    const refused = new Error('Failed to allocate memory for requested buffer of size 10000000000');
    const create = vi.spyOn(InferenceSession, 'create').mockRejectedValueOnce(refused);
    const err = await b.createModule(config, weights).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'MhaError', code: 'MHA_BACKEND_UNAVAILABLE', field: 'createModule.session' });
    expect((err as Error).cause).toBe(refused);
    // onnxruntime's own stderr line for a refused session is turned off: the MhaError carries it.
    expect(create.mock.calls[0]![1]).toMatchObject({ logSeverityLevel: 4 });
    create.mockRestore();

    const m = await b.createModule(config, weights);
    vi.spyOn(sessionPrototype, 'run').mockRejectedValue(refused);
    await expect(m.forward(randomTensor([1, 2, 4], 1))).rejects.toMatchObject({ code: 'MHA_BACKEND_UNAVAILABLE', field: 'forward.run', value: [1, 2, 4], cause: refused });
    await expect(m.forward(randomTensor([1, 2, 4], 1), { returnAttentionWeights: true })).rejects.toMatchObject({ code: 'MHA_BACKEND_UNAVAILABLE', field: 'forward.run' });
    await expect(b.attention(q, k, v)).rejects.toMatchObject({ code: 'MHA_BACKEND_UNAVAILABLE', field: 'attention.run', cause: refused });
    vi.restoreAllMocks();
    await m.dispose();
    await b.dispose();
    expect(b.diagnostics()).toEqual({ sessions: 0, intraOpThreads: 0 });
  });
});

describe('backend.dispose()', () => {
  it('a second concurrent dispose() resolves only after the first has released the sessions', async () => {
    const b = createOrtBackend({ flavour: 'decomposed', intraOpNumThreads: 1 });
    const q = randomTensor([1, 1, 2, 4], 1);
    await b.attention(q, q, q);
    const release = sessionPrototype.release;
    let finish!: () => void;
    let released = false;
    vi.spyOn(sessionPrototype, 'release').mockImplementation(function (this: InferenceSession) {
      return new Promise<void>((resolve) => {
        finish = () => void release.call(this).then(() => ((released = true), resolve()));
      });
    });
    const first = b.dispose();
    let secondDone = false;
    const second = b.dispose().then(() => (secondDone = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(secondDone).toBe(false);
    finish();
    await Promise.all([first, second]);
    expect(released).toBe(true);
    expect(b.diagnostics().sessions).toBe(0);
  });

  it('waits for a core-op call running on a cached session, then releases it', async () => {
    const b = createOrtBackend({ flavour: 'decomposed', intraOpNumThreads: 1 });
    const q = randomTensor([1, 1, 2, 4], 1);
    await b.attention(q, q, q);
    const run = sessionPrototype.run;
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    vi.spyOn(sessionPrototype, 'run').mockImplementation(async function (this: InferenceSession, ...args: Parameters<InferenceSession['run']>) {
      await gate;
      return run.apply(this, args);
    });
    const pending = b.attention(q, q, q);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    let disposed = false;
    const dispose = b.dispose().then(() => (disposed = true));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(disposed).toBe(false);
    go();
    expectClose((await pending).output.data, referenceAttention(q, q, q).output.data, 'the running call');
    await dispose;
    expect(b.diagnostics().sessions).toBe(0);
  });
});

/** OS threads of this process (Linux). */
function osThreads(): number {
  return Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

describe.runIf(existsSync('/proc/self/status'))('thread pools', () => {
  it('diagnostics() counts the intra-op threads its sessions own; weights forwards add no pool; all return to the baseline', async () => {
    const b = createOrtBackend({ flavour: 'attention-op', intraOpNumThreads: 4 });
    const config = resolveConfig({ dIn: 8, dOut: 8, heads: 2, causal: true });
    const x = randomTensor([1, 5, 8], 1);
    // Warm onnxruntime's process-wide state (its first session starts a thread that stays).
    await (await b.createModule(config, initWeights(config, 0))).dispose();
    const base = osThreads();
    const modules = [];
    for (let i = 0; i < 20; i++) modules.push(await b.createModule(config, initWeights(config, i + 1)));
    // The process's own thread count also moves with things this test does not control (libuv's pool
    // starts 4 threads on first use, V8 adds helper threads under load), so OS counts get a slack far
    // below the 60 threads a second pool per module would add.
    const SLACK = 8;
    const afterCreate = osThreads() - base;
    expect(b.diagnostics()).toEqual({ sessions: 20, intraOpThreads: 60 });
    expect(afterCreate).toBeGreaterThanOrEqual(60 - SLACK);
    expect(afterCreate).toBeLessThanOrEqual(60 + SLACK);
    for (const m of modules) await m.forward(x, { returnAttentionWeights: true });
    expect(osThreads() - base).toBeLessThanOrEqual(afterCreate + SLACK);
    expect(b.diagnostics()).toEqual({ sessions: 40, intraOpThreads: 60 });
    await Promise.all(modules.map((m) => m.dispose()));
    expect(b.diagnostics()).toEqual({ sessions: 0, intraOpThreads: 0 });
    expect(osThreads() - base).toBeLessThanOrEqual(SLACK);
  });
});

/**
 * True when the kernel refuses a single allocation of `bytes` outright (Linux heuristic or strict
 * overcommit, and more than RAM + swap), so a test can ask onnxruntime for one without touching memory.
 */
function allocationIsRefused(bytes: number): boolean {
  if (!existsSync('/proc/sys/vm/overcommit_memory') || readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim() === '1') return false;
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? Infinity);
  return bytes > 2 * 1024 * (kb('MemTotal') + kb('SwapTotal'));
}

// [1, 64, 50000, 50000] float32 scores: 640 GB, a hidden intermediate of a 12.8 MB input.
describe.runIf(allocationIsRefused(64 * 50_000 * 50_000 * 4))('huge hidden intermediates', () => {
  it.each([ortAttentionOp, ortDecomposed])('$name: a forward onnxruntime cannot allocate for (T = 50,000) is MHA_BACKEND_UNAVAILABLE with the cause', async (backend) => {
    // Not causal: the decomposed graph's [T, T] causal matrix alone would be a real 2.5 GB.
    const config = resolveConfig({ dIn: 64, dOut: 64, heads: 64 });
    const m = await backend.createModule(config, initWeights(config, 1));
    try {
      const err = await m.forward(randomTensor([1, 50_000, 64], 2)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ name: 'MhaError', code: 'MHA_BACKEND_UNAVAILABLE', field: 'forward.run', value: [1, 50_000, 64] });
      expect((err as Error).cause).toBeInstanceOf(Error);
    } finally {
      await m.dispose();
    }
  });
});
