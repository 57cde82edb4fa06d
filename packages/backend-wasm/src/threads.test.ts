// The threaded mode as shipped (dist/, whose worker runs dist/worker-node.js): bit-identical to the
// single-threaded plain-SIMD build on every split (minWorkPerThread 0 splits even tiny phases), clean
// worker lifecycle, and the reason reported when threads are unavailable.
import { initWeights, randomTensor, resolveConfig, type AttentionOptions, type MhaConfig } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { importBuilt } from './test-support/built.js';

const { createWasmBackend, wasmThreadsBackend } = await importBuilt();
const single = createWasmBackend({ simd: 'simd' });
const threaded = createWasmBackend({ threads: 3, minWorkPerThread: 0 });
afterAll(async () => {
  await threaded.dispose();
  await wasmThreadsBackend.dispose();
});

const same = (a: Float32Array | undefined, b: Float32Array | undefined, label: string) => {
  expect(a, label).toBeDefined();
  expect(Buffer.from(a!.buffer, a!.byteOffset, a!.byteLength).equals(Buffer.from(b!.buffer, b!.byteOffset, b!.byteLength)), `${label}: bit-identical`).toBe(true);
};

describe('wasm-threads', () => {
  it('runs 2 threads in Node, with no reason to fall back', () => {
    expect(wasmThreadsBackend.name).toBe('wasm-threads');
    expect(wasmThreadsBackend.threads).toBe(2);
    expect(wasmThreadsBackend.threadsUnavailable).toBeUndefined();
    expect(threaded.simd).toBe('simd');
  });

  const configs: [string, MhaConfig, number, number][] = [
    ['heads split', { dIn: 24, dOut: 24, heads: 6, causal: true, qkvBias: true }, 2, 19],
    ['one head, batch split', { dIn: 8, heads: 1, headDim: 8, outProj: false }, 5, 7],
    ['rows not a multiple of 4', { dIn: 5, dOut: 12, heads: 3 }, 1, 3],
    ['wider', { dIn: 64, dOut: 64, heads: 4, causal: true }, 1, 130],
  ];
  for (const [name, c, B, T] of configs) {
    it(`module forward, ${name}: bit-identical to one thread`, async () => {
      const config = resolveConfig(c);
      const w = initWeights(config, 3);
      const x = randomTensor([B, T, config.dIn], 4);
      const [m1, m3] = await Promise.all([single.createModule(config, w), threaded.createModule(config, w)]);
      const r1 = await m1.forward(x, { returnAttentionWeights: true });
      const r3 = await m3.forward(x, { returnAttentionWeights: true });
      same(r3.output.data, r1.output.data, `${name} output`);
      same(r3.attentionWeights!.data, r1.attentionWeights!.data, `${name} weights`);
      // Without weights (the online-softmax kernel), and concurrent forwards on one threaded module
      // return what sequential single-threaded ones do.
      const plain1 = await m1.forward(x);
      const many = await Promise.all(Array.from({ length: 6 }, () => m3.forward(x)));
      for (const r of many) same(r.output.data, plain1.output.data, `${name} concurrent, without weights`);
      await Promise.all([m1.dispose(), m3.dispose()]);
    });
  }

  it('core op on the calling thread, same bits', async () => {
    const q = randomTensor([2, 4, 9, 8], 1);
    const k = randomTensor([2, 2, 11, 8], 2);
    const v = randomTensor([2, 2, 11, 5], 3);
    for (const returnWeights of [true, false]) {
      const o: AttentionOptions = { causal: true, softcap: 3, returnWeights };
      const a = await single.attention(q, k, v, o);
      const b = await threaded.attention(q, k, v, o);
      same(b.output.data, a.output.data, `core op, returnWeights ${returnWeights}`);
    }
  });

  it('backend.dispose() stops the workers; modules go on and start new ones', async () => {
    const config = resolveConfig({ dIn: 16, dOut: 16, heads: 4 });
    const m = await threaded.createModule(config, initWeights(config, 1));
    const x = randomTensor([1, 33, 16], 2);
    const before = await m.forward(x);
    expect(threaded.diagnostics().workers).toBe(2);
    await threaded.dispose();
    expect(threaded.diagnostics().workers).toBe(0);
    same((await m.forward(x)).output.data, before.output.data, 'after backend.dispose()');
    await m.dispose();
    await threaded.dispose();
    expect(threaded.diagnostics()).toEqual({ modules: 0, allocatedBytes: 0, wasmMemoryBytes: 0, workers: 0 });
  });
});

describe('inputs are read during the call (readsInputsSynchronously)', () => {
  it('a threaded forward is unaffected by refilling x right after forward() returns', async () => {
    const config = resolveConfig({ dIn: 32, dOut: 32, heads: 4, causal: true });
    const w = initWeights(config, 5);
    const x = randomTensor([2, 40, 32], 6);
    const m1 = await single.createModule(config, w);
    const m3 = await threaded.createModule(config, w);
    const expected = (await m1.forward(x)).output.data;
    const pending = m3.forward(x);
    x.data.fill(123);
    same((await pending).output.data, expected, 'threaded forward after the caller refilled x');
    await Promise.all([m1.dispose(), m3.dispose()]);
  });
});
