/**
 * `ort-web`: the exported module graph (ONNX `Attention` op flavour) run by onnxruntime-web's WebAssembly
 * build (SIMD, one thread), the runtime transformers.js uses, as a peer row for `wasm` and `tfjs-wasm`.
 * A benchmark row only: module forwards are what the bench times, so the core op is declared
 * unsupported (`MHA_UNSUPPORTED`) instead of half-implemented, and this row is not a conformance backend.
 * A backend module like any other: `mha-bench --backend <this file>`.
 */
import { defineBackend, MhaError, MhaErrorCode, type MhaBackend } from '@mha/core';
import { exportOnnx, MODULE_NAMES } from '@mha/onnx';
import * as ort from 'onnxruntime-web';

// One thread, so the row compares with the single-threaded wasm kernels core for core.
ort.env.wasm.numThreads = 1;

/** The `ort-web` row. */
export const ortWeb: MhaBackend = defineBackend({
  name: 'ort-web',
  runtimes: ['node', 'browser'],
  capabilities: [],
  async createKernel(config, weights) {
    const session = await ort.InferenceSession.create(exportOnnx(config, weights, { flavour: 'attention-op' }), { executionProviders: ['wasm'] });
    return {
      async forward(input) {
        // A private copy: onnxruntime-web reads the input after this call yields.
        const x = new Float32Array(input.x.length);
        x.set(input.x);
        const r = await session.run({ [MODULE_NAMES.input]: new ort.Tensor('float32', x, [input.batch, input.tokens, config.dIn]) }, [MODULE_NAMES.output]);
        return { output: r[MODULE_NAMES.output]!.data as Float32Array };
      },
      dispose: () => session.release(),
    };
  },
  attention() {
    throw new MhaError(MhaErrorCode.Unsupported, 'attention', 'ort-web', 'the ort-web row is a benchmark of module forwards only');
  },
});

/** For the bench's backend discovery. */
export const backends: readonly MhaBackend[] = [ortWeb];
