import type { MhaBackend } from '@mha/core';
import { nodeRuntime } from './node-runtime.js';
import { resolveOrtBackendOptions, type OrtBackendOptions, type ResolvedOrtBackendOptions } from './options.js';
import { ortBackendOn } from './ort-backend.js';

/** An onnxruntime backend: an {@link MhaBackend} plus its options and a way to close cached sessions. */
export interface OrtBackend extends MhaBackend {
  readonly options: ResolvedOrtBackendOptions;
  /**
   * Releases the cached core-op sessions (module sessions belong to their modules), after the calls
   * running on them finish; concurrent calls all resolve once everything is released. The backend
   * stays usable: sessions are re-created on demand.
   */
  dispose(): Promise<void>;
}

/**
 * A backend that runs the ONNX export of each module with onnxruntime-node's CPU execution provider.
 * Each module gets one `InferenceSession`, created by `createModule` and reused by every `forward`;
 * `module.dispose()` releases it. The core op runs through an exported single-op graph, one cached
 * session per distinct option set (causal, scale, softcap, mask kind/rank, weights).
 *
 * Every session owns an intra-op thread pool of `intraOpNumThreads - 1` OS threads: onnxruntime-node
 * cannot share pools between sessions. `diagnostics()` reports `sessions` and `intraOpThreads` (the
 * threads those pools own) for this backend.
 *
 * @example
 * const backend = createOrtBackend({ flavour: 'attention-op', intraOpNumThreads: 4 });
 * const module = await backend.createModule(config, weights);
 * const { output } = await module.forward(x);
 * await module.dispose();
 */
export function createOrtBackend(options: OrtBackendOptions): OrtBackend {
  const opts = resolveOrtBackendOptions(options);
  return { ...ortBackendOn(nodeRuntime, opts), options: opts };
}
