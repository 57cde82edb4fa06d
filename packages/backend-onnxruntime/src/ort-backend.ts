import { defineBackend, type Capability, type MhaBackend } from '@mha/core';
import { runCoreOp } from './core-op.js';
import { OrtModuleKernel } from './module-kernel.js';
import { createProjection } from './projection.js';
import type { ResolvedOrtBackendOptions } from './options.js';
import type { OrtRuntime } from './runtime.js';
import { SessionCache } from './session-cache.js';
import { SessionRegistry } from './live-sessions.js';

/**
 * Core-op features both graphs compute exactly as the spec says: the ONNX `Attention` operator has
 * them natively (onnxruntime's CPU kernel, native or compiled to WebAssembly), and the decomposed graph
 * builds each from primitive ops. Each is checked against `@mha/core`'s float64 reference in this
 * package's tests and by the conformance suite on every row.
 */
const CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

/** Distinct core-op graphs kept open per backend; each costs one small session. */
const CORE_OP_SESSIONS = 16;

/**
 * The backend over one onnxruntime package: a session per module (created by `createModule`, reused by
 * every `forward`, released by `module.dispose()`), and for the core op one cached session per distinct
 * graph option set (causal, scale, softcap, mask kind/rank, weights), in the same cache as the native
 * projection's linear graphs. `dispose` releases the cache.
 */
export function ortBackendOn(runtime: OrtRuntime, opts: ResolvedOrtBackendOptions): MhaBackend & { dispose(): Promise<void> } {
  const registry = new SessionRegistry(runtime);
  const cache = new SessionCache(CORE_OP_SESSIONS, (s) => registry.close(s));
  return defineBackend({
    name: opts.name,
    runtimes: runtime.runtimes,
    capabilities: CAPABILITIES,
    createKernel: (config, weights) => OrtModuleKernel.create(config, weights, opts, registry, runtime),
    attention: (a) => runCoreOp(a, opts, cache, registry, runtime),
    createProjection: (inW, n, w, b) => createProjection(inW, n, w, b, opts, cache, registry, runtime),
    diagnostics: () => registry.counts(),
    // In the definition, not spread over the result: a backend derived with deriveBackend keeps it,
    // and core shares one run between concurrent dispose() calls.
    dispose: () => cache.clear(),
  });
}
