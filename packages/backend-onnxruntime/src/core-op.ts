import type { ValidAttention } from '@mha/core';
import { CORE_OP_NAMES as N, exportAttentionOp, type AttentionOpExportOptions } from '@mha/onnx';
import type { Tensor } from 'onnxruntime-node';
import { guarded } from './errors.js';
import { boolBytes, maxAbs, unsharedFloat32 } from './inputs.js';
import type { SessionRegistry } from './live-sessions.js';
import type { ResolvedOrtBackendOptions } from './options.js';
import type { OrtRuntime } from './runtime.js';
import type { SessionCache } from './session-cache.js';

/** Half of float32's largest finite value: products bounded below it cannot overflow. */
const SAFE_PRODUCT = 1.7e38;

/**
 * True when the `Attention` operator's product might overflow float32 before its scale is known to
 * be applied (bounded by `qk_head_dim * max|q| * max|k| * max(1, |scale|)`: the scale may be folded
 * into q, or applied per term). Under softcap the operator would squash such an infinity with tanh
 * into a finite score, wrong when the scaled score is small, or of the wrong sign after a partial sum
 * overflowed. The decomposed graph applies the scale after `q k^T` and turns a non-finite `q k^T`
 * into NaN, which core reports as an overflow.
 */
function qkMayOverflow(a: ValidAttention): boolean {
  return a.dk * maxAbs(a.q) * maxAbs(a.k) * Math.max(1, Math.abs(a.scale)) >= SAFE_PRODUCT;
}

/**
 * The graph options a core-op call needs. Shapes are not part of them (the exported graph has
 * symbolic dims), so one session serves every call with the same causal/scale/softcap/mask/weights.
 * The default scale is left to the graph (`1/sqrt(qk_head_dim)` from the input) so calls with
 * different head sizes share a session too.
 */
export function graphOptionsFor(a: ValidAttention, flavour: ResolvedOrtBackendOptions['flavour']): AttentionOpExportOptions {
  const isDefaultScale = a.scale === 1 / Math.sqrt(a.dk);
  return {
    flavour: flavour === 'attention-op' && a.softcap > 0 && qkMayOverflow(a) ? 'decomposed' : flavour,
    causal: a.causal,
    scale: isDefaultScale ? undefined : a.scale,
    softcap: a.softcap,
    mask: a.mask ? { kind: a.mask.kind, rank: a.mask.shape.length as 2 | 3 | 4 } : undefined,
    weights: a.returnWeights,
  };
}

/** Runs the core op through a cached single-op session. */
export async function runCoreOp(
  a: ValidAttention,
  options: ResolvedOrtBackendOptions,
  cache: SessionCache,
  registry: SessionRegistry,
  runtime: OrtRuntime,
): Promise<{ output: Float32Array; weights?: Float32Array | undefined }> {
  const graph = graphOptionsFor(a, options.flavour);
  const Tensor = runtime.Tensor;
  const feeds: Record<string, Tensor> = {
    [N.q]: new Tensor('float32', unsharedFloat32(a.q), [a.batch, a.qHeads, a.tq, a.dk]),
    [N.k]: new Tensor('float32', unsharedFloat32(a.k), [a.batch, a.kvHeads, a.tk, a.dk]),
    [N.v]: new Tensor('float32', unsharedFloat32(a.v), [a.batch, a.kvHeads, a.tk, a.dv]),
  };
  if (a.mask) {
    feeds[N.mask] =
      a.mask.kind === 'bool'
        ? new Tensor('bool', boolBytes(a.mask.data as Uint8Array), [...a.mask.shape])
        : new Tensor('float32', unsharedFloat32(a.mask.data as Float32Array), [...a.mask.shape]);
  }
  const fetches = a.returnWeights ? [N.output, N.weights] : [N.output];
  const shape = [a.batch, a.qHeads, a.tq, a.tk];
  const r = await cache.with(
    JSON.stringify(graph),
    () => registry.open(exportAttentionOp(graph), runtime.sessionOptions(options), 'attention.session', graph),
    (s) => guarded('attention.run', shape, () => s.run(feeds, fetches)),
  );
  return { output: r[N.output]!.data as Float32Array, weights: a.returnWeights ? (r[N.weights]!.data as Float32Array) : undefined };
}
