import type { ProjectionKernel } from '@mha/core';
import { exportLinear, LINEAR_NAMES as N } from '@mha/onnx';
import type { Tensor } from 'onnxruntime-node';
import { guarded } from './errors.js';
import { unsharedFloat32 } from './inputs.js';
import type { SessionRegistry } from './live-sessions.js';
import type { ResolvedOrtBackendOptions } from './options.js';
import type { OrtRuntime } from './runtime.js';
import type { SessionCache } from './session-cache.js';

/**
 * The backend's native projection `y = x W + b` (core's `createProjection` hook, for lowered module calls):
 * one `MatMul` (+ `Add`) graph with the weight and bias as inputs ({@link exportLinear}), in the backend's
 * session cache like the core-op graphs, so every projection of every module shares one session (two with
 * and without a bias) and a module adds none. Feeding `W` per call costs onnxruntime a repack of it,
 * small next to the `rows * inW * n` product.
 */
export function createProjection(inW: number, n: number, w: Float32Array, b: Float32Array | undefined, options: ResolvedOrtBackendOptions, cache: SessionCache, registry: SessionRegistry, runtime: OrtRuntime): ProjectionKernel {
  const Tensor = runtime.Tensor;
  const weight = new Tensor('float32', unsharedFloat32(w), [inW, n]);
  const bias = b && new Tensor('float32', unsharedFloat32(b), [n]);
  const graph = { bias: bias !== undefined };
  return {
    async project(x, rows) {
      const feeds: Record<string, Tensor> = { [N.input]: new Tensor('float32', unsharedFloat32(x), [rows, inW]), [N.weight]: weight };
      if (bias) feeds[N.bias] = bias;
      const r = await cache.with(
        `linear:${JSON.stringify(graph)}`,
        () => registry.open(exportLinear(graph), runtime.sessionOptions(options), 'projection.session', graph),
        (s) => guarded('projection.run', [rows, inW, n], () => s.run(feeds, [N.output])),
      );
      return r[N.output]!.data as Float32Array;
    },
  };
}
