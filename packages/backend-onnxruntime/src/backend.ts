import { defineBackend, type Capability, type MhaBackend } from '@mha/core';
import { runCoreOp } from './core-op.js';
import { createProjection } from './projection.js';
import { OrtModuleKernel } from './module-kernel.js';
import { resolveOrtBackendOptions, type OrtBackendOptions, type ResolvedOrtBackendOptions } from './options.js';
import { SessionCache } from './session-cache.js';
import { SessionRegistry } from './live-sessions.js';

/**
 * Core-op features both graphs compute exactly as the spec says: the ONNX `Attention` operator has
 * them natively (onnxruntime's CPU kernel included), and the decomposed graph builds each from
 * primitive ops. Each is checked against `@mha/core`'s float64 reference in this package's tests.
 */
const CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

/** Distinct core-op graphs kept open per backend; each costs one small session. */
const CORE_OP_SESSIONS = 16;

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
  const registry = new SessionRegistry();
  const cache = new SessionCache(CORE_OP_SESSIONS, (s) => registry.close(s));
  const backend = defineBackend({
    name: opts.name,
    runtimes: ['node'],
    capabilities: CAPABILITIES,
    createKernel: (config, weights) => OrtModuleKernel.create(config, weights, opts, registry),
    attention: (a) => runCoreOp(a, opts, cache, registry),
    createProjection: (inW, n, w, b) => createProjection(inW, n, w, b, opts, cache, registry),
    diagnostics: () => registry.counts(),
    // In the definition, not spread over the result: a backend derived with deriveBackend keeps it,
    // and core shares one run between concurrent dispose() calls.
    dispose: () => cache.clear(),
  });
  return { ...backend, options: opts };
}
