import { initWeights, randomTensor, referenceForward, resolveConfig } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertActive } from './activate.js';
import { createTfjsBackend, tfjsCpu, tfjsWasm } from './index.js';
import { expectClose } from './test-helpers.js';

/** Buffers each tfjs backend holds. A kernel run on the wrong backend moves its inputs (the module's weights) across. */
function buffersPerBackend(): { cpu: number; wasm: number } {
  const { cpu, wasm } = tf.engine().registry;
  return { cpu: cpu!.numDataIds(), wasm: wasm!.numDataIds() };
}

describe("tfjs's one global backend, shared by modules on different backends", () => {
  const cfg = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true, qkvBias: true });
  const weights = initWeights(cfg, 1);

  it('the observable works: running a cpu tensor through a wasm kernel moves it between backends', async () => {
    await tfjsCpu.attention(randomTensor([1, 1, 1, 1], 0), randomTensor([1, 1, 1, 1], 0), randomTensor([1, 1, 1, 1], 0));
    await tfjsWasm.attention(randomTensor([1, 1, 1, 1], 0), randomTensor([1, 1, 1, 1], 0), randomTensor([1, 1, 1, 1], 0));
    await tf.setBackend('cpu');
    const t = tf.tensor1d([1, 2, 3]);
    const before = buffersPerBackend();
    await tf.setBackend('wasm');
    const u = tf.add(t, 1);
    const after = buffersPerBackend();
    expect(after.cpu).toBe(before.cpu - 1);
    expect(after.wasm).toBe(before.wasm + 2);
    t.dispose();
    u.dispose();
  });

  it('a cpu and a wasm module, called alternately and concurrently, each compute on their own backend', async () => {
    const onCpu = await tfjsCpu.createModule(cfg, weights);
    const onWasm = await tfjsWasm.createModule(cfg, weights);
    const inputs = Array.from({ length: 24 }, (_, i) => randomTensor([2, 3 + (Math.floor(i / 2) % 4), 8], 10 + i));
    const before = buffersPerBackend();
    const results = await Promise.all(inputs.map((x, i) => (i % 2 ? onWasm : onCpu).forward(x)));
    results.forEach((r, i) => expectClose(r.output.data, referenceForward(cfg, weights, inputs[i]!).output.data, `call ${i}`));
    // Every buffer stayed where it was: no weight moved, no forward left anything on either backend
    // (the causal-bias caches grew identically on both, by the 4 lengths used).
    const after = buffersPerBackend();
    expect(after).toEqual({ cpu: before.cpu + 4, wasm: before.wasm + 4 });
    await onCpu.dispose();
    await onWasm.dispose();
  });

  it('switching tfjs elsewhere (awaited, or not awaited right after a call starts) does not redirect a module', async () => {
    const onWasm = await tfjsWasm.createModule(cfg, weights);
    const x = randomTensor([1, 5, 8], 3);
    const expected = referenceForward(cfg, weights, x).output.data;
    await tf.setBackend('cpu');
    const before = buffersPerBackend();
    expectClose((await onWasm.forward(x)).output.data, expected, 'after an awaited switch');
    expect(tf.getBackend()).toBe('wasm');
    const pending = onWasm.forward(x);
    void tf.setBackend('cpu');
    expectClose((await pending).output.data, expected, 'after an unawaited switch');
    expect(buffersPerBackend().cpu).toBe(before.cpu);
    await onWasm.dispose();
  });

  it('the guard refuses to build tensors when another backend is active', async () => {
    await tf.setBackend('cpu');
    expect(() => assertActive('wasm')).toThrow(expect.objectContaining({ code: 'MHA_BACKEND_UNAVAILABLE', field: 'tfjs.backend' }));
    expect(() => assertActive('cpu')).not.toThrow();
  });

  it('a tfjs backend not registered in this process is refused with MHA_BACKEND_UNAVAILABLE, and the others keep working', async () => {
    for (const tfBackend of ['webgl', 'webgpu'] as const) {
      const b = createTfjsBackend({ tfBackend });
      await expect(b.createModule(cfg, weights)).rejects.toMatchObject({ code: 'MHA_BACKEND_UNAVAILABLE', field: 'options.tfBackend', message: expect.stringContaining(`@tensorflow/tfjs-backend-${tfBackend}`) });
      const t = randomTensor([1, 1, 2, 2], 1);
      await expect(b.attention(t, t, t)).rejects.toMatchObject({ code: 'MHA_BACKEND_UNAVAILABLE' });
    }
    const m = await tfjsCpu.createModule(cfg, weights);
    const x = randomTensor([1, 2, 8], 2);
    expectClose((await m.forward(x)).output.data, referenceForward(cfg, weights, x).output.data, 'cpu after a refused backend');
    await m.dispose();
  });
});
