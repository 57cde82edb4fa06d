// The native projection of lowered module calls (createProjection): bit-identical to the one-key fallback it
// replaces (same packed GEMM, a third of the work), on one thread and split over worker threads.
import { deriveBackend, initWeights, randomTensor, resolveConfig, type ForwardOptions, type MhaBackend, type MhaConfig, type Tensor } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { tsBackend } from './index.js';
import { importBuilt } from './test-support/built.js';
import { expectSameBits } from './test-support/threads.js';

// Real worker threads need the built package (its worker is dist/worker-node.js).
const built = await importBuilt();
const threaded = built.createTsBackend({ threads: 3, minWorkPerThread: 0 });
afterAll(() => threaded.dispose());

const CASES: readonly { name: string; config: MhaConfig; x: Tensor; options: ForwardOptions }[] = [
  { name: 'GQA, causal, biases', config: { dIn: 48, heads: 6, headDim: 8, kvHeads: 2, causal: true, qkvBias: true }, x: randomTensor([2, 37, 48], 1), options: {} },
  {
    name: 'cross-attention, kdim/vdim, key padding, no biases',
    config: { dIn: 32, heads: 4, headDim: 8, kdim: 20, vdim: 12, outProjBias: false },
    x: randomTensor([3, 9, 32], 2),
    options: { key: randomTensor([3, 21, 20], 3), value: randomTensor([3, 21, 12], 4), keyPaddingMask: { kind: 'bool', data: Uint8Array.from({ length: 63 }, (_, i) => (i % 21 < 17 ? 1 : 0)), shape: [3, 21] } },
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

describe('ts native projection (createProjection)', () => {
  const fallback = deriveBackend(tsBackend, { name: 'ts-one-key', createProjection: undefined });
  for (const c of CASES) {
    it(`${c.name}: bit-identical to the one-key fallback, and on 3 threads`, async () => {
      const want = await run(fallback, c);
      expectSameBits(await run(tsBackend, c), want, 'ts');
      expectSameBits(await run(threaded, c), want, 'ts-threads (3 threads, every phase split)');
    });
  }

  it('ts-threads: projections run on the workers, are registered while the module lives and dropped with it', async () => {
    const c = CASES[0]!;
    const cfg = resolveConfig(c.config);
    const before = threaded.diagnostics();
    const m = await threaded.createModule(cfg, initWeights(cfg, 9));
    await m.forward(c.x, c.options);
    const live = threaded.diagnostics();
    // A GQA config has no module kernel: its 4 projections are the pool's modules, each on both workers.
    expect(live.modules! - before.modules!).toBe(4);
    expect(live.workerModules! - before.workerModules!).toBe(8);
    await m.dispose();
    expect(threaded.diagnostics()).toMatchObject({ modules: before.modules, workerModules: before.workerModules, pinnedBytes: before.pinnedBytes });
  });
});
