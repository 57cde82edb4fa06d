import type { Runtime } from '@mha/core';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ResolvedOrtBackendOptions } from './options.js';

/**
 * What the backend needs from an onnxruntime JavaScript package. onnxruntime-node and onnxruntime-web
 * export the same `InferenceSession` and `Tensor` (both from onnxruntime-common), so the module kernel
 * and the core op are written once; a runtime adds its execution provider and thread accounting.
 * (Types come from onnxruntime-node, a dependency of this package; they are onnxruntime-common's.)
 */
export interface OrtRuntime {
  /** Where backends on this runtime run (`MhaBackend.runtimes`). */
  readonly runtimes: readonly Runtime[];
  readonly Tensor: typeof Tensor;
  /** Opens a session; called only after {@link prepare} resolved. */
  createSession(model: Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession>;
  /** Session options for a backend's options (execution provider, threads). `inspection` sessions serve weights and traces. */
  sessionOptions(o: ResolvedOrtBackendOptions, inspection?: boolean): InferenceSession.SessionOptions;
  /** OS threads a session opened with `options` owns (reported by `diagnostics()`). */
  poolThreads(options: InferenceSession.SessionOptions): number;
}
