// The input contract of defineBackend (SPEC.md, "Lifecycle", "Errors", "Non-finite values"): inputs are
// read once, during the call, through their internal slots; kernels get private copies unless the backend
// reads synchronously; non-finite kernel results become MHA_OVERFLOW.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineBackend, deriveBackend, type BackendDefinition, type MhaBackend } from './backend.js';
import { resolveConfig } from './config.js';
import { isMhaError, MhaErrorCode } from './errors.js';
import { initWeights, randomTensor } from './init.js';
import { referenceAttention } from './reference/forward.js';
import type { ValidAttention, ValidInput } from './validate.js';

const cfg = { dIn: 3, heads: 2, headDim: 2 };
const weights = () => initWeights(resolveConfig(cfg), 1);

/** A backend whose kernels record what they were handed and return zeros (or `make`'s output). */
function recorder(overrides: Partial<BackendDefinition> = {}) {
  const seen: { input?: ValidInput; attention?: ValidAttention } = {};
  const backend = defineBackend({
    name: 'recorder',
    runtimes: ['node'],
    capabilities: ['attn-mask', 'cross-attention', 'softcap'],
    createKernel: () => ({
      forward(input) {
        seen.input = input;
        return { output: new Float32Array(input.batch * input.tokens * 4) };
      },
    }),
    attention(a) {
      seen.attention = a;
      return { output: new Float32Array(a.batch * a.qHeads * a.tq * a.dv), weights: new Float32Array(a.batch * a.qHeads * a.tq * a.tk) };
    },
    ...overrides,
  });
  return { backend, seen };
}

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<{ code: string; field: string; value: unknown } | 'no error'> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field, value: e.value };
    throw e;
  }
  return 'no error';
}

const qkv = (tq = 2, tk = 3, d = 4) => [randomTensor([1, 1, tq, d], 1), randomTensor([1, 1, tk, d], 2), randomTensor([1, 1, tk, d], 3)] as const;

describe('inputs are read during the call (BackendDefinition.readsInputsSynchronously)', () => {
  it('an asynchronous kernel gets a private copy of x: refilling x after forward() returns changes nothing', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { backend } = recorder({
      createKernel: () => ({
        async forward(input) {
          await gate; // reads x only later, like a worker pool or a session queue
          return { output: Float32Array.from({ length: input.batch * input.tokens * 4 }, (_, i) => input.x[i % input.x.length]!) };
        },
      }),
    });
    const m = await backend.createModule(cfg, weights());
    const x = randomTensor([1, 2, 3], 5);
    const expected = x.data.slice();
    const pending = m.forward(x);
    x.data.fill(Number.NaN);
    release();
    const out = (await pending).output.data;
    expect(Array.from(out.subarray(0, 6))).toEqual(Array.from(expected));
  });
  it('the copy is a fresh, non-shared Float32Array even when the caller passes shared memory or a subclass', async () => {
    const { backend, seen } = recorder();
    const m = await backend.createModule(cfg, weights());
    class Species extends Float32Array {
      static get [Symbol.species]() {
        return Array;
      }
    }
    const shared = new Float32Array(new SharedArrayBuffer(24));
    shared.set(randomTensor([1, 2, 3], 1).data);
    for (const data of [shared, Species.from(shared)]) {
      await m.forward({ data, shape: [1, 2, 3] });
      const got = seen.input!.x;
      expect(Object.getPrototypeOf(got)).toBe(Float32Array.prototype);
      expect(got.buffer).toBeInstanceOf(ArrayBuffer);
      expect(got.buffer).not.toBe(data.buffer);
      expect(Array.from(got)).toEqual(Array.from(shared));
    }
  });
  it('the core op hands the kernel private copies of q, k, v and the mask', async () => {
    const { backend, seen } = recorder();
    const [q, k, v] = qkv();
    const mask = { kind: 'bool' as const, data: new Uint8Array([1, 0, 1, 1, 1, 0]), shape: [2, 3] };
    await backend.attention(q, k, v, { mask });
    const a = seen.attention!;
    for (const [got, mine] of [[a.q, q.data], [a.k, k.data], [a.v, v.data], [a.mask!.data, mask.data]] as const) {
      expect(got.buffer).not.toBe(mine.buffer);
      expect(Array.from(got)).toEqual(Array.from(mine));
    }
  });
  it('a backend that reads synchronously gets the caller memory itself (no copy cost)', async () => {
    const { backend, seen } = recorder({ readsInputsSynchronously: true });
    const m = await backend.createModule(cfg, weights());
    const x = randomTensor([1, 2, 3], 5);
    await m.forward(x);
    expect(seen.input!.x.buffer).toBe(x.data.buffer);
    const [q, k, v] = qkv();
    await backend.attention(q, k, v);
    expect(seen.attention!.q.buffer).toBe(q.data.buffer);
  });
});

describe('float32 overflow policy (MHA_OVERFLOW)', () => {
  const bad = (n: number, at: number, value: number) => Float32Array.from({ length: n }, (_, i) => (i === at ? value : 0));
  it('a non-finite module output or weight from finite inputs is refused with the element named', async () => {
    const { backend } = recorder({
      createKernel: () => ({ forward: (input) => ({ output: bad(input.batch * input.tokens * 4, 3, Infinity), attentionWeights: bad(input.batch * 2 * input.tokens ** 2, 1, Number.NaN) }) }),
    });
    const m = await backend.createModule(cfg, weights());
    expect(await errorOf(m.forward(randomTensor([1, 2, 3], 1)))).toEqual({ code: MhaErrorCode.Overflow, field: 'output[3]', value: Infinity });
    const { backend: b2 } = recorder({ createKernel: () => ({ forward: (input) => ({ output: new Float32Array(input.batch * input.tokens * 4), attentionWeights: bad(input.batch * 2 * input.tokens ** 2, 1, Number.NaN) }) }) });
    const m2 = await b2.createModule(cfg, weights());
    expect(await errorOf(m2.forward(randomTensor([1, 2, 3], 1), { returnAttentionWeights: true }))).toEqual({ code: MhaErrorCode.Overflow, field: 'attentionWeights[1]', value: Number.NaN });
  });
  it('the core op refuses a non-finite output or weight', async () => {
    const [q, k, v] = qkv();
    const { backend } = recorder({ attention: (a) => ({ output: bad(a.batch * a.qHeads * a.tq * a.dv, 2, -Infinity) }) });
    expect(await errorOf(backend.attention(q, k, v))).toEqual({ code: MhaErrorCode.Overflow, field: 'output[2]', value: -Infinity });
    const { backend: b2 } = recorder({ attention: (a) => ({ output: new Float32Array(a.batch * a.qHeads * a.tq * a.dv), weights: bad(a.batch * a.qHeads * a.tq * a.tk, 4, Number.NaN) }) });
    expect(await errorOf(b2.attention(q, k, v, { returnWeights: true }))).toEqual({ code: MhaErrorCode.Overflow, field: 'weights[4]', value: Number.NaN });
  });
  it.each([
    ['scale', 3.5e38],
    ['scale', -1e39],
    ['softcap', 1e39],
  ] as const)('options.%s = %s outside the float32 range is MHA_INVALID_OPTION', async (key, value) => {
    const { backend } = recorder();
    const [q, k, v] = qkv();
    expect(await errorOf(backend.attention(q, k, v, { [key]: value }))).toEqual({ code: MhaErrorCode.InvalidOption, field: `options.${key}`, value });
  });
  it.each([3.4028234663852886e38, -3.4028234663852886e38, 0, -0, -2, 1e-50])('scale %s lies in the float32 range and reaches the kernel unchanged', async (scale) => {
    const { backend, seen } = recorder();
    const [q, k, v] = qkv();
    await backend.attention(q, k, v, { scale });
    expect(Object.is(seen.attention!.scale, scale)).toBe(true);
  });
});

describe('validation reads each input once, own properties only', () => {
  afterEach(() => {
    for (const key of ['causal', 'trace', 'returnWeights', 'returnAttentionWeights', 'scale', 'kind', 'mask']) delete (Object.prototype as Record<string, unknown>)[key];
  });
  it('a tensor whose data/shape getters change after the first read is used as validated', async () => {
    const { backend, seen } = recorder();
    const m = await backend.createModule(cfg, weights());
    const good = randomTensor([1, 2, 3], 1).data;
    let dataReads = 0;
    let shapeReads = 0;
    const x = {
      get data() {
        return dataReads++ === 0 ? good : new Float32Array(600).fill(Number.NaN);
      },
      get shape() {
        return shapeReads++ === 0 ? [1, 2, 3] : [1, 200, 3];
      },
    };
    const r = await m.forward(x);
    expect(dataReads).toBe(1);
    expect(shapeReads).toBe(1);
    expect(r.output.shape).toEqual([1, 2, 4]);
    expect(Array.from(seen.input!.x)).toEqual(Array.from(good));
  });
  it('a shape whose elements change on each read is copied once', async () => {
    const { backend } = recorder();
    const [q, k, v] = qkv();
    let reads = 0;
    const shape = new Proxy([1, 1, 2, 4], { get: (t, p, r) => (p === '2' ? (reads++ === 0 ? 2 : 50) : Reflect.get(t, p, r)) });
    const r = await backend.attention({ data: q.data, shape }, k, v);
    expect(reads).toBe(1);
    expect(r.output.shape).toEqual([1, 1, 2, 4]);
  });
  it('inherited options (Object.prototype pollution) are ignored', async () => {
    const { backend, seen } = recorder();
    const proto = Object.prototype as Record<string, unknown>;
    Object.assign(proto, { causal: true, scale: 1e39, returnWeights: 'yes', trace: 'yes', returnAttentionWeights: 'yes' });
    const [q, k, v] = qkv();
    const r = await backend.attention(q, k, v, {});
    expect(seen.attention!.causal).toBe(false);
    expect(seen.attention!.scale).toBe(0.5);
    expect(Object.hasOwn(r, 'weights') && r.weights !== undefined).toBe(false);
    const m = await backend.createModule(cfg, weights());
    const f = await m.forward(randomTensor([1, 2, 3], 1), {});
    // Honouring the inherited flags would have raised MHA_BACKEND_CONTRACT: the kernel returned neither.
    expect(Object.hasOwn(f, 'trace') && f.trace !== undefined).toBe(false);
    expect(Object.hasOwn(f, 'attentionWeights') && f.attentionWeights !== undefined).toBe(false);
  });
  it('mask fields must be own properties: an inherited kind is refused', async () => {
    const { backend } = recorder();
    const [q, k, v] = qkv();
    (Object.prototype as Record<string, unknown>).kind = 'bool';
    const mask = { data: new Uint8Array(6).fill(1), shape: [2, 3] };
    expect(await errorOf(backend.attention(q, k, v, { mask: mask as never }))).toEqual({ code: MhaErrorCode.InvalidOption, field: 'options.mask.kind', value: undefined });
  });
});

describe('robust input types: an MhaError or the right answer, never a TypeError', () => {
  it('a Proxy of a Float32Array (instanceof passes, internal slots missing) is MHA_INVALID_TYPE', async () => {
    const { backend } = recorder();
    const m = await backend.createModule(cfg, weights());
    const data = new Proxy(new Float32Array(6), {});
    expect(data instanceof Float32Array).toBe(true);
    expect(await errorOf(m.forward({ data, shape: [1, 2, 3] }))).toMatchObject({ code: MhaErrorCode.InvalidType, field: 'x.data' });
    const [q, k, v] = qkv();
    expect(await errorOf(backend.attention(q, { data: new Proxy(k.data, {}), shape: k.shape }, v))).toMatchObject({ code: MhaErrorCode.InvalidType, field: 'k.data' });
    const mask = { kind: 'bool' as const, data: new Proxy(new Uint8Array(6), {}), shape: [2, 3] };
    expect(await errorOf(backend.attention(q, k, v, { mask }))).toMatchObject({ code: MhaErrorCode.InvalidType, field: 'options.mask.data' });
    expect(await errorOf(backend.createModule(cfg, { ...weights(), wq: new Proxy(new Float32Array(12), {}) }))).toMatchObject({ code: MhaErrorCode.InvalidType, field: 'weights.wq' });
  });
  it('a detached buffer: valid with an empty shape, MHA_SHAPE_MISMATCH otherwise', async () => {
    const { backend } = recorder();
    const m = await backend.createModule(cfg, weights());
    const detached = () => {
      const a = new Float32Array(6);
      structuredClone(a.buffer, { transfer: [a.buffer] });
      return a;
    };
    const empty = await m.forward({ data: detached(), shape: [0, 2, 3] });
    expect(empty.output.shape).toEqual([0, 2, 4]);
    expect(await errorOf(m.forward({ data: detached(), shape: [1, 2, 3] }))).toEqual({ code: MhaErrorCode.ShapeMismatch, field: 'x.data', value: 0 });
    const [q, k, v] = qkv();
    expect(await errorOf(backend.attention(q, k, { data: detached(), shape: v.shape }))).toEqual({ code: MhaErrorCode.ShapeMismatch, field: 'v.data', value: 0 });
  });
  it('a subclass with a lying length getter is measured by its real length', async () => {
    class Liar extends Float32Array {
      override get length() {
        return 600;
      }
    }
    const { backend, seen } = recorder();
    const m = await backend.createModule(cfg, weights());
    const data = new Liar(6).fill(0.5);
    expect(await errorOf(m.forward({ data, shape: [1, 200, 3] }))).toEqual({ code: MhaErrorCode.ShapeMismatch, field: 'x.data', value: 6 });
    await m.forward({ data, shape: [1, 2, 3] });
    expect(seen.input!.x.length).toBe(6);
    const sync = recorder({ readsInputsSynchronously: true });
    await (await sync.backend.createModule(cfg, weights())).forward({ data, shape: [1, 2, 3] });
    // No copy, but a plain view: the kernel never sees the lie.
    expect(Object.getPrototypeOf(sync.seen.input!.x)).toBe(Float32Array.prototype);
    expect(sync.seen.input!.x.length).toBe(6);
  });
});

describe('core op with dk = 0', () => {
  it('every score is 0: uniform weights over the visible keys, output the mean of their values, on every option set', async () => {
    const kernel = vi.fn();
    const { backend } = recorder({ attention: kernel, capabilities: ['value-head-dim', 'softcap'] });
    const q = { data: new Float32Array(0), shape: [1, 1, 3, 0] };
    const k = { data: new Float32Array(0), shape: [1, 1, 3, 0] };
    const v = randomTensor([1, 1, 3, 2], 4);
    const mean = (n: number, d: number) => Array.from({ length: n }, (_, j) => v.data[j * 2 + d]!).reduce((s, x) => s + x, 0) / n;
    const plain = await backend.attention(q, k, v, { returnWeights: true });
    expect(Array.from(plain.weights!.data)).toEqual(new Array(9).fill(Math.fround(1 / 3)));
    for (let i = 0; i < 3; i++) for (let d = 0; d < 2; d++) expect(plain.output.data[i * 2 + d]).toBeCloseTo(mean(3, d), 6);
    const causal = await backend.attention(q, k, v, { causal: true, returnWeights: true, scale: 7, softcap: 2 });
    expect(Array.from(causal.weights!.data)).toEqual([1, 0, 0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3].map(Math.fround));
    for (let d = 0; d < 2; d++) expect(causal.output.data[2 + d]).toBeCloseTo(mean(2, d), 6);
    // The float64 reference agrees (it is the oracle of the conformance case on every backend).
    const ref = referenceAttention(q, k, v, { causal: true });
    expect(Array.from(causal.output.data)).toEqual(Array.from(ref.output.data, Math.fround));
    expect(kernel).not.toHaveBeenCalled();
  });
});

describe('dispose', () => {
  it('a second concurrent module dispose() resolves only after the kernel was freed', async () => {
    let free!: () => void;
    const freed = new Promise<void>((r) => (free = r));
    const order: string[] = [];
    const { backend } = recorder({
      createKernel: () => ({
        forward: (input) => ({ output: new Float32Array(input.batch * input.tokens * 4) }),
        dispose: async () => {
          await freed;
          order.push('kernel freed');
        },
      }),
    });
    const m = await backend.createModule(cfg, weights());
    const first = m.dispose();
    const second = m.dispose().then(() => order.push('second resolved'));
    free();
    await Promise.all([first, second]);
    expect(order).toEqual(['kernel freed', 'second resolved']);
  });
  it('concurrent backend.dispose() calls share one run; a later call runs again', async () => {
    const dispose = vi.fn(async () => {});
    const { backend } = recorder({ dispose });
    await Promise.all([backend.dispose(), backend.dispose()]);
    expect(dispose).toHaveBeenCalledTimes(1);
    await backend.dispose();
    expect(dispose).toHaveBeenCalledTimes(2);
  });
});

describe('deriveBackend', () => {
  it('a derived backend refuses what its own capabilities leave out, and keeps extra fields of a spread base', async () => {
    const { backend } = recorder();
    const base: MhaBackend & { extra: number } = { ...backend, extra: 7 };
    const narrowed = deriveBackend(base, { name: 'narrow', capabilities: [] });
    expect(narrowed.extra).toBe(7);
    expect(narrowed.name).toBe('narrow');
    const q = randomTensor([1, 1, 2, 4], 1);
    const k = randomTensor([1, 1, 3, 4], 2);
    expect(await errorOf(narrowed.attention(q, k, k))).toMatchObject({ code: MhaErrorCode.Unsupported, value: 'cross-attention' });
    expect(await errorOf(base.attention(q, k, k))).toBe('no error');
  });
  it('refuses a backend not built by defineBackend', () => {
    const { backend } = recorder();
    const handMade: MhaBackend = { name: 'x', runtimes: [], capabilities: [], createModule: backend.createModule, attention: backend.attention, dispose: backend.dispose, diagnostics: backend.diagnostics };
    expect(() => deriveBackend(handMade, {})).toThrow(/not built by defineBackend/);
  });
});
