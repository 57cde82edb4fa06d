// What runs without a GPU: device acquisition and loss, error mapping, buffer and pipeline lifetimes,
// all against a fake navigator.gpu. The arithmetic is checked in a real browser (scripts/browser).
import { initWeights, isMhaError, randomTensor, resolveConfig, type MhaError } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { createWebGpuBackend, webgpuBackend } from './index.js';
import { fakeGpu, type FakeGpuOptions } from './test-support/fake-gpu.js';

const config = resolveConfig({ dIn: 8, heads: 2, dOut: 8, causal: true, qkvBias: true });
const weights = initWeights(config, 1);

async function rejection(p: Promise<unknown>): Promise<MhaError> {
  const e = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
  if (!isMhaError(e)) throw e;
  return e;
}

function backendWith(options: FakeGpuOptions = {}) {
  const fake = fakeGpu(options);
  return { fake, backend: createWebGpuBackend({ gpu: fake.gpu }) };
}

describe('device acquisition', () => {
  it('declares browser only and every capability', () => {
    expect(webgpuBackend.name).toBe('webgpu');
    expect(webgpuBackend.runtimes).toEqual(['browser']);
    expect([...webgpuBackend.capabilities].sort()).toEqual(['attn-mask', 'cross-attention', 'grouped-query', 'softcap', 'value-head-dim']);
  });

  it('without navigator.gpu (Node): MHA_BACKEND_UNAVAILABLE from createModule and attention', async () => {
    const backend = createWebGpuBackend();
    const e = await rejection(backend.createModule(config, weights));
    expect([e.code, e.field]).toEqual(['MHA_BACKEND_UNAVAILABLE', 'navigator.gpu']);
    const q = randomTensor([1, 1, 2, 4], 1);
    const e2 = await rejection(backend.attention(q, q, q));
    expect([e2.code, e2.field]).toEqual(['MHA_BACKEND_UNAVAILABLE', 'navigator.gpu']);
    expect(backend.diagnostics()).toEqual({ modules: 0, buffers: 0, pipelines: 0 });
  });

  it.each([
    [{ adapter: 'null' } as const, 'adapter', null],
    [{ adapter: 'throw' } as const, 'navigator.gpu.requestAdapter', 'Error: adapter request failed'],
    [{ device: 'reject' } as const, 'adapter.requestDevice', 'Error: device refused'],
  ])('%o: MHA_BACKEND_UNAVAILABLE with field and value', async (options, field, value) => {
    const { backend } = backendWith(options);
    const e = await rejection(backend.createModule(config, weights));
    expect([e.code, e.field, e.value]).toEqual(['MHA_BACKEND_UNAVAILABLE', field, value]);
  });

  it('a failed acquisition is retried on the next call, not cached', async () => {
    const { fake, backend } = backendWith({ adapter: 'null' });
    await rejection(backend.createModule(config, weights));
    fake.options.adapter = 'ok';
    const m = await backend.createModule(config, weights);
    expect(fake.adapterRequests).toBe(2);
    await m.dispose();
  });

  it('rejects unknown and mistyped options', () => {
    expect(() => createWebGpuBackend({ threads: 2 } as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.threads' }));
    expect(() => createWebGpuBackend({ powerPreference: 'fast' } as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION' }));
    expect(() => createWebGpuBackend({ name: '' })).toThrow(expect.objectContaining({ code: 'MHA_INVALID_TYPE' }));
    expect(() => createWebGpuBackend({ attentionKernel: 'tiled' } as never)).toThrow(expect.objectContaining({ code: 'MHA_INVALID_OPTION', field: 'options.attentionKernel' }));
  });
});

describe('device loss, out of memory, validation', () => {
  it('a device lost while a forward waits for its readback rejects that forward (no hang), and the next module gets a new device', async () => {
    const { fake, backend } = backendWith({ map: 'hang' });
    const m = await backend.createModule(config, weights);
    const pending = m.forward(randomTensor([1, 3, 8], 2));
    // Let the forward reach mapAsync, then lose the device.
    await new Promise((r) => setTimeout(r, 0));
    fake.devices[0]!.lose();
    const e = await rejection(pending);
    expect([e.code, e.field, e.value]).toEqual(['MHA_BACKEND_UNAVAILABLE', 'device', 'unknown']);
    // The module stays bound to the lost device: later forwards fail fast, typed.
    const e2 = await rejection(m.forward(randomTensor([1, 3, 8], 2)));
    expect(e2.code).toBe('MHA_BACKEND_UNAVAILABLE');
    await m.dispose();
    fake.options.map = 'ok';
    const m2 = await backend.createModule(config, weights);
    expect(fake.devices.length).toBe(2);
    await m2.forward(randomTensor([1, 3, 8], 2));
    await m2.dispose();
  });

  it('a lost device also fails the core op, which then recovers on a new device', async () => {
    const { fake, backend } = backendWith();
    const q = randomTensor([1, 2, 3, 4], 1);
    await backend.attention(q, q, q);
    fake.devices[0]!.lose();
    await new Promise((r) => setTimeout(r, 0));
    await backend.attention(q, q, q);
    expect(fake.devices.length).toBe(2);
    await backend.dispose();
  });

  it('out of memory during a forward: MHA_BACKEND_UNAVAILABLE naming device memory', async () => {
    const { fake, backend } = backendWith();
    const m = await backend.createModule(config, weights);
    fake.options.scopeErrors = { 'out-of-memory': true };
    const e = await rejection(m.forward(randomTensor([2, 3, 8], 2)));
    expect([e.code, e.field]).toEqual(['MHA_BACKEND_UNAVAILABLE', 'device.memory']);
    fake.options.scopeErrors = {};
    await m.forward(randomTensor([2, 3, 8], 2));
    await m.dispose();
  });

  it('a WebGPU validation error is a backend bug (MHA_BACKEND_CONTRACT), never stale numbers', async () => {
    const { fake, backend } = backendWith();
    const q = randomTensor([1, 2, 3, 4], 1);
    fake.options.scopeErrors = { validation: true };
    const e = await rejection(backend.attention(q, q, q));
    expect([e.code, e.field]).toEqual(['MHA_BACKEND_CONTRACT', 'attention']);
  });

  it('a buffer over the device limit is refused before it is created, naming it', async () => {
    const { backend } = backendWith({ maxStorageBufferBindingSize: 1024 });
    const big = resolveConfig({ dIn: 16, heads: 1, dOut: 16 });
    const e = await rejection(backend.createModule(big, initWeights(big, 1)));
    // wqkv is [16, 48] float32 = 3072 bytes.
    expect([e.code, e.field, e.value]).toEqual(['MHA_BACKEND_UNAVAILABLE', 'buffer.wqkv', 3072]);
  });
});

describe('buffers and pipelines', () => {
  it('are made once per module and size, reused across forwards, and destroyed by dispose', async () => {
    const { fake, backend } = backendWith();
    const m = await backend.createModule(config, weights);
    const device = fake.devices[0]!;
    // wqkv, bqkv, wo, bo.
    expect(device.buffers.map((b) => b.label)).toEqual(['wqkv', 'bqkv', 'wo', 'bo']);
    await m.forward(randomTensor([2, 5, 8], 2));
    const afterFirst = device.buffers.length;
    expect(backend.diagnostics()).toEqual({ modules: 1, buffers: afterFirst, pipelines: 2 });
    await m.forward(randomTensor([2, 5, 8], 3));
    await m.forward(randomTensor([1, 4, 8], 3));
    expect(device.buffers.length).toBe(afterFirst);
    expect(device.shaders.length).toBe(2);
    // Three passes per forward: QKV matmul, attention (query-tiled: head size 4 <= 128), output matmul.
    expect(device.dispatches.slice(-3).map((d) => d.label)).toEqual(['matmul-tiled', 'attention-flash-tiled', 'matmul-tiled']);
    // Weights requested: the per-row kernel's weights variant and one more buffer for them, nothing else.
    await m.forward(randomTensor([1, 4, 8], 3), { returnAttentionWeights: true });
    expect(device.shaders.length).toBe(3);
    await m.forward(randomTensor([2, 9, 8], 3));
    await m.dispose();
    expect(device.buffers.every((b) => b.destroyed)).toBe(true);
    expect(backend.diagnostics()).toEqual({ modules: 0, buffers: 0, pipelines: 3 });
    await backend.dispose();
    expect(device.destroyed).toBe(true);
    expect(backend.diagnostics()).toEqual({ modules: 0, buffers: 0, pipelines: 0 });
  });

  it('backend.dispose() keeps the device while a module is alive', async () => {
    const { fake, backend } = backendWith();
    const m = await backend.createModule(config, weights);
    const q = randomTensor([1, 2, 3, 4], 1);
    await backend.attention(q, q, q, { returnWeights: true });
    await backend.dispose();
    expect(fake.devices[0]!.destroyed).toBe(false);
    await m.forward(randomTensor([1, 2, 8], 1));
    await m.dispose();
    expect(fake.devices[0]!.buffers.every((b) => b.destroyed)).toBe(true);
  });

  it('grids: one workgroup per 32-row query block (tiled) or per query row, one per 16 x 16 output tile', async () => {
    const { fake, backend } = backendWith();
    const q = randomTensor([2, 3, 40, 4], 1);
    const k = randomTensor([2, 3, 7, 4], 2);
    await backend.attention(q, k, k);
    // 2 x 3 heads x ceil(40 / 32) blocks.
    expect(fake.devices[0]!.dispatches.at(-1)).toEqual({ label: 'attention-flash-tiled', grid: [12, 1] });
    await backend.attention(q, k, k, { returnWeights: true });
    expect(fake.devices[0]!.dispatches.at(-1)).toEqual({ label: 'attention-flash', grid: [240, 1] });
    const wide = randomTensor([1, 1, 3, 128], 3);
    await backend.attention(wide, wide, wide);
    expect(fake.devices[0]!.dispatches.at(-1)).toEqual({ label: 'attention-flash-tiled', grid: [1, 1] });
    const big = randomTensor([1, 1, 3, 129], 3);
    await backend.attention(big, big, big);
    expect(fake.devices[0]!.dispatches.at(-1)).toEqual({ label: 'attention-flash', grid: [3, 1] });
    const perRow = createWebGpuBackend({ gpu: fake.gpu, attentionKernel: 'per-row' });
    await perRow.attention(q, k, k);
    expect(fake.devices[1]!.dispatches.at(-1)).toEqual({ label: 'attention-flash', grid: [240, 1] });
    await perRow.dispose();
    const m = await backend.createModule(config, weights);
    await m.forward(randomTensor([3, 7, 8], 1));
    const [qkv, , out] = fake.devices[0]!.dispatches.slice(-3);
    expect(qkv!.grid).toEqual([2, 2]); // [21, 24] -> 2 x 2 tiles
    expect(out!.grid).toEqual([1, 2]); // [21, 8]
    await m.dispose();
  });
});
