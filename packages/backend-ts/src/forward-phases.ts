import type { MhaWeights, ResolvedMhaConfig } from '@mha/core';
import { runAttention, type AttentionProblem } from './attention-kernel.js';
import { allocateFloat64, matmulPacked, packWeights, type Float64Allocator, type PackedWeights } from './matmul.js';
import { TILE } from './micro-kernel.js';
import { packRowPanels, roundUpToTile, type Numbers } from './pack.js';
import type { ScratchPool } from './scratch.js';

/**
 * A module's weights, packed once for the micro-kernel, plus the dimensions a forward needs. A plain
 * object of numbers and typed arrays, so the threaded mode can post it to a worker as is: when the
 * arrays sit on shared memory, the worker reads the very same packed panels.
 */
export interface PackedModule {
  readonly dIn: number;
  readonly dOut: number;
  readonly heads: number;
  readonly headDim: number;
  readonly scale: number;
  readonly causal: boolean;
  /** `wq | wk | wv` as one `[dIn, 3*dOut]` operand. */
  readonly wqkv: PackedWeights;
  readonly bqkv: Float64Array | undefined;
  readonly wo: PackedWeights | undefined;
  readonly bo: Float64Array | undefined;
}

/**
 * Packs `wq | wk | wv` into one fused `[dIn, 3*dOut]` float64 operand and `wo` into another. Float64
 * (twice the float32 size) so the micro-kernel reads them without a conversion per element.
 */
export function packModule(config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, allocate: Float64Allocator = allocateFloat64): PackedModule {
  const { dIn, dOut } = config;
  const wqkv = packWeights(
    dIn,
    [
      { data: weights.wq, outDim: dOut },
      { data: weights.wk, outDim: dOut },
      { data: weights.wv, outDim: dOut },
    ],
    allocate,
  );
  let bqkv: Float64Array | undefined;
  if (config.qkvBias) {
    bqkv = allocate(3 * dOut);
    bqkv.set(weights.bq!, 0);
    bqkv.set(weights.bk!, dOut);
    bqkv.set(weights.bv!, 2 * dOut);
  }
  const wo = config.outProj ? packWeights(dOut, [{ data: weights.wo!, outDim: dOut }], allocate) : undefined;
  let bo: Float64Array | undefined;
  if (config.outProjBias) {
    bo = allocate(dOut);
    bo.set(weights.bo!);
  }
  return { dIn, dOut, heads: config.heads, headDim: config.headDim, scale: config.scale, causal: config.causal, wqkv, bqkv, wo, bo };
}

/**
 * The buffers of one forward, all row-major over the `B*T` token rows. Also a plain object, so the
 * threaded mode can post it (its arrays then live on shared memory).
 */
export interface ForwardBuffers {
  readonly batch: number;
  readonly tokens: number;
  /** `[B*T, dIn]` input. */
  readonly x: Float32Array;
  /** `[B*T, 3*dOut]` fused projection: the logical `[B, T, 3, H, dh]`. */
  readonly qkv: Float64Array;
  /** `[B*T, dOut]` merged heads; the output itself when the module has no output projection. */
  readonly merged: Float64Array | Float32Array;
  /** `[B*T, dOut]` result. */
  readonly output: Float32Array;
  /** `[B, H, T, T]`, zeroed, when attention weights were requested. */
  readonly weights: Float32Array | undefined;
}

/**
 * The three phases of a forward. Each works on a range of independent units (token rows, or
 * (batch, head) pairs), and a unit's result does not depend on which range it was computed in, so
 * any split of the units gives bit-identical results. Phase `n + 1` reads what phase `n` wrote for
 * every unit, so threads must all finish a phase before any starts the next.
 */
export type Phase = 'qkv' | 'attention' | 'output';

/** Phases a module runs, in order (no `output` phase without an output projection). */
export function phasesOf(m: PackedModule): Phase[] {
  return m.wo ? ['qkv', 'attention', 'output'] : ['qkv', 'attention'];
}

/** How many units phase `phase` has: token rows for the projections, (batch, head) pairs for attention. */
export function phaseUnits(m: PackedModule, buf: Pick<ForwardBuffers, 'batch' | 'tokens'>, phase: Phase): number {
  return phase === 'attention' ? buf.batch * m.heads : buf.batch * buf.tokens;
}

/** Multiply-adds per unit of `phase`, to split work evenly and skip threading tiny problems. */
export function phaseUnitCost(m: PackedModule, tokens: number, phase: Phase): number {
  if (phase === 'qkv') return m.dIn * 3 * m.dOut;
  if (phase === 'output') return m.dOut * m.dOut;
  // q k^T and weights x V over the keys a row sees: all of them, or about half under causal masking.
  const keys = m.causal ? (tokens + 1) / 2 : tokens;
  return 2 * tokens * keys * m.headDim;
}

/** The attention of a forward over strided head views of `buf.qkv`: nothing is split or copied. */
export function attentionProblem(m: PackedModule, buf: ForwardBuffers): AttentionProblem {
  const { dOut, heads: H, headDim: dh } = m;
  const T = buf.tokens;
  const view = (offset: number) => ({ data: buf.qkv, offset, batchStride: T * 3 * dOut, headStride: dh, rowStride: 3 * dOut });
  return {
    batch: buf.batch,
    qHeads: H,
    kvHeads: H,
    tq: T,
    tk: T,
    dk: dh,
    dv: dh,
    q: view(0),
    k: view(dOut),
    v: view(2 * dOut),
    out: { data: buf.merged, offset: 0, batchStride: T * dOut, headStride: dh, rowStride: dOut },
    scale: m.scale,
    causal: m.causal,
    softcap: 0,
    mask: undefined,
    weights: buf.weights,
  };
}

/** Runs units `[start, end)` of `phase`. Writes only the rows (or pairs) of those units. */
export function runPhase(m: PackedModule, buf: ForwardBuffers, phase: Phase, start: number, end: number, scratch: ScratchPool): void {
  if (start >= end) return;
  if (phase === 'qkv') projectRows(buf.x, m.dIn, start, end, m.wqkv, m.bqkv, buf.qkv, scratch);
  else if (phase === 'attention') runAttention(attentionProblem(m, buf), scratch, start, end);
  else projectRows(buf.merged, m.dOut, start, end, m.wo!, m.bo, buf.output, scratch);
}

/**
 * `out[i] = src[i] @ W + bias` for token rows `i` in `[start, end)`: packs those rows into row panels
 * (thread-local scratch) and runs the projection GEMM into the same rows of `out`.
 */
export function projectRows(src: Numbers, cols: number, start: number, end: number, w: PackedWeights, bias: Float64Array | undefined, out: Numbers, scratch: ScratchPool): void {
  const rows = end - start;
  const panels = scratch.get('rowPanels', roundUpToTile(rows) * cols);
  packRowPanels(src, start * cols, cols, rows, cols, panels);
  matmulPacked(panels, rows, w, bias, out.subarray(start * w.outDim), w.outDim, scratch.get('tile', TILE * TILE));
}
