// The native projection of lowered module calls (createProjection): the same SIMD GEMM as the one-key fallback
// it replaces, so bit-identical to it, on one thread and with the rows split over threads; its wasm memory is
// freed with the module.
import { deriveBackend, initWeights, randomTensor, resolveConfig, type ForwardOptions, type MhaBackend, type MhaConfig, type Tensor } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { importBuilt } from './test-support/built.js';

const { createWasmBackend } = await importBuilt();
const single = createWasmBackend({ simd: 'simd' });
const threaded = createWasmBackend({ threads: 3, minWorkPerThread: 0 });
afterAll(async () => {
  await threaded.dispose();
  await single.dispose();
});

const same = (a: Float32Array, b: Float32Array, label: string) =>
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${label}: bit-identical`).toBe(true);

const CASES: readonly { name: string; config: MhaConfig; x: Tensor; options: ForwardOptions }[] = [
  { name: 'GQA, causal, biases', config: { dIn: 48, heads: 6, headDim: 5, kvHeads: 2, causal: true, qkvBias: true }, x: randomTensor([2, 37, 48], 1), options: {} },
  {
    name: 'cross-attention, kdim/vdim, key padding, no biases',
    config: { dIn: 32, heads: 4, headDim: 8, kdim: 20, vdim: 13, outProjBias: false },
    x: randomTensor([3, 9, 32], 2),
    options: { key: randomTensor([3, 21, 20], 3), value: randomTensor([3, 21, 13], 4), keyPaddingMask: { kind: 'bool', data: Uint8Array.from({ length: 63 }, (_, i) => (i % 21 < 17 ? 1 : 0)), shape: [3, 21] } },
  },
];

async function run(backend: MhaBackend, c: (typeof CASES)[number]): Promise<Float32Array> {
  const cfg = resolveConfig(c.config);
  const m = await backend.createModule(cfg, initWeights(cfg, 9));
  try {
    return (await m.forward(c.x, c.options)).output.data as Float32Array;
  } finally {
    await m.dispose();
  }
}

describe('wasm native projection (createProjection)', () => {
  const fallback = deriveBackend(single, { name: 'wasm-one-key', createProjection: undefined });
  for (const c of CASES) {
    it(`${c.name}: bit-identical to the one-key fallback, and on 3 threads`, async () => {
      const want = await run(fallback, c);
      same(await run(single, c), want, 'wasm (simd)');
      same(await run(threaded, c), want, 'wasm-threads (3 threads, every phase split)');
    });
  }

  it('counts live projections with the modules and frees their memory with the module', async () => {
    const c = CASES[0]!;
    const cfg = resolveConfig(c.config);
    const before = single.diagnostics();
    const m = await single.createModule(cfg, initWeights(cfg, 9));
    await m.forward(c.x, c.options);
    expect(single.diagnostics().modules! - before.modules!).toBe(4);
    await m.dispose();
    expect(single.diagnostics()).toMatchObject({ modules: before.modules, allocatedBytes: before.allocatedBytes });
  });
});
