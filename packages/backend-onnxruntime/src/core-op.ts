import type { ValidAttention } from '@mha/core';
import { CORE_OP_NAMES as N, exportAttentionOp, type AttentionOpExportOptions } from '@mha/onnx';
import { Tensor } from 'onnxruntime-node';
import { openSession } from './live-sessions.js';
import { sessionOptions, type ResolvedOrtBackendOptions } from './options.js';
import type { SessionCache } from './session-cache.js';

/**
 * The graph options a core-op call needs. Shapes are not part of them (the exported graph has
 * symbolic dims), so one session serves every call with the same causal/scale/softcap/mask/weights.
 * The default scale is left to the graph (`1/sqrt(qk_head_dim)` from the input) so calls with
 * different head sizes share a session too.
 */
export function graphOptionsFor(a: ValidAttention, flavour: ResolvedOrtBackendOptions['flavour']): AttentionOpExportOptions {
  const isDefaultScale = a.scale === 1 / Math.sqrt(a.dk);
  return {
    flavour,
    causal: a.causal,
    scale: isDefaultScale ? undefined : a.scale,
    softcap: a.softcap,
    mask: a.mask ? { kind: a.mask.kind, rank: a.mask.shape.length as 2 | 3 | 4 } : undefined,
    weights: a.returnWeights,
  };
}

/** Runs the core op through a cached single-op session. */
export async function runCoreOp(a: ValidAttention, options: ResolvedOrtBackendOptions, cache: SessionCache): Promise<{ output: Float32Array; weights?: Float32Array | undefined }> {
  const graph = graphOptionsFor(a, options.flavour);
  const feeds: Record<string, Tensor> = {
    [N.q]: new Tensor('float32', a.q, [a.batch, a.qHeads, a.tq, a.dk]),
    [N.k]: new Tensor('float32', a.k, [a.batch, a.kvHeads, a.tk, a.dk]),
    [N.v]: new Tensor('float32', a.v, [a.batch, a.kvHeads, a.tk, a.dv]),
  };
  if (a.mask) {
    feeds[N.mask] = a.mask.kind === 'bool' ? new Tensor('bool', a.mask.data as Uint8Array, [...a.mask.shape]) : new Tensor('float32', a.mask.data as Float32Array, [...a.mask.shape]);
  }
  const fetches = a.returnWeights ? [N.output, N.weights] : [N.output];
  const r = await cache.with(
    JSON.stringify(graph),
    () => openSession(exportAttentionOp(graph), sessionOptions(options)),
    (s) => s.run(feeds, fetches),
  );
  return { output: r[N.output]!.data as Float32Array, weights: a.returnWeights ? (r[N.weights]!.data as Float32Array) : undefined };
}
