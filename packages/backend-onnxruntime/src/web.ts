/**
 * `@mha/backend-onnxruntime/web`: the same exported graphs as the package's main entry, run by
 * onnxruntime-web's WebAssembly build (SIMD) instead of the native add-on, in Node and in browsers.
 * The runtime transformers.js uses. Needs `onnxruntime-web` installed beside this package.
 *
 * @packageDocumentation
 */
import type { MhaBackend } from '@mha/core';
import { ortBackendOn } from './ort-backend.js';
import { resolveOrtWebBackendOptions, type OrtWebBackendOptions, type ResolvedOrtWebBackendOptions } from './web-options.js';
import { threadsUnavailableReason, webRuntime } from './web-runtime.js';

export { resolveOrtWebBackendOptions, type OrtWebBackendOptions, type ResolvedOrtWebBackendOptions, type OrtWasmPaths } from './web-options.js';
export type { GraphOptimizationLevel } from './options.js';

/** An onnxruntime-web backend: an {@link MhaBackend} with its options and the threads it runs on. */
export interface OrtWebBackend extends MhaBackend {
  readonly options: ResolvedOrtWebBackendOptions;
  /** Threads onnxruntime-web runs on: `options.threads`, or 1 where threads are unavailable. */
  readonly threads: number;
  /** Why `threads` is 1 although more were asked for; `undefined` otherwise. */
  readonly threadsUnavailable: string | undefined;
  /** Releases the cached core-op sessions (modules release their own); the backend stays usable. */
  dispose(): Promise<void>;
}

/**
 * A backend that runs the ONNX export of each module with onnxruntime-web's WebAssembly execution
 * provider: one session per module, one cached session per core-op graph, as on onnxruntime-node.
 * onnxruntime-web starts its WebAssembly runtime once per page or process, with the thread count and
 * `wasmPaths` of the first backend that opens a session; a later backend asking for others is refused
 * with `MHA_INVALID_OPTION` instead of silently running with the first settings.
 *
 * @example
 * // In a page that serves onnxruntime-web's dist/ files at /ort/ (Node needs no wasmPaths):
 * const backend = createOrtWebBackend({ wasmPaths: '/ort/', threads: self.crossOriginIsolated ? 4 : 1 });
 * const module = await backend.createModule(config, weights);
 * const { output } = await module.forward(x);
 */
export function createOrtWebBackend(options: OrtWebBackendOptions = {}): OrtWebBackend {
  const opts = resolveOrtWebBackendOptions(options);
  const reason = opts.threads > 1 ? threadsUnavailableReason() : undefined;
  const threads = reason === undefined ? opts.threads : 1;
  return { ...ortBackendOn(webRuntime(threads, opts.wasmPaths), opts), options: opts, threads, threadsUnavailable: reason };
}

/** `ort-web`: the module around the ONNX `Attention` operator on onnxruntime-web, one thread. */
export const ortWeb: OrtWebBackend = createOrtWebBackend();

/** The conformance row, for `mha-conformance --backend @mha/backend-onnxruntime/web`. */
export const backends: readonly OrtWebBackend[] = [ortWeb];
