import type { KernelForwardResult, MhaWeights, ModuleKernel, ResolvedMhaConfig, ValidInput } from '@mha/core';
import { runAttention, type AttentionProblem } from './attention-kernel.js';
import { matmulPacked, packWeights, type PackedWeights } from './matmul.js';
import { TILE } from './micro-kernel.js';
import { packRowPanels, roundUpToTile } from './pack.js';
import { ScratchPool } from './scratch.js';
import { traceOf } from './trace.js';

/** Tuning of a module kernel. */
export interface ModuleKernelOptions {
  /** Keep work buffers between forwards (see `TsBackendOptions.retainScratch`). */
  readonly retainScratch: boolean;
}

/** A synchronous {@link ModuleKernel} that also reports its scratch use (for tests of the O(T x D) memory claim). */
export interface TsModuleKernel extends ModuleKernel {
  /** Float64 elements held in work buffers right now. */
  readonly scratchElements: number;
  forward(input: ValidInput, options: { returnAttentionWeights: boolean; trace: boolean }): KernelForwardResult;
  /** Drops the packed weights and work buffers; `forward` afterwards throws. */
  dispose(): void;
}

/**
 * Builds the module kernel: packs `wq | wk | wv` into one fused `[dIn, 3*dOut]` float64 operand and
 * `wo` into another, once, so each forward is
 * 1. one GEMM `x @ [wq|wk|wv] + b` into a `[B*T, 3*dOut]` buffer (the logical `[B, T, 3, H, dh]`),
 * 2. tiled attention reading q/k/v heads as strided views of that buffer, writing merged heads,
 * 3. one GEMM `merged @ wo + bo` into the float32 output.
 *
 * The packed weights are float64 (twice the float32 size): the micro-kernel then reads them without a
 * conversion per element. The caller's arrays are not retained.
 */
export function createModuleKernel(config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, options: ModuleKernelOptions): TsModuleKernel {
  const { dIn, dOut, heads: H, headDim: dh } = config;
  let wqkv: PackedWeights | undefined = packWeights(dIn, [
    { data: weights.wq, outDim: dOut },
    { data: weights.wk, outDim: dOut },
    { data: weights.wv, outDim: dOut },
  ]);
  let bqkv: Float64Array | undefined;
  if (config.qkvBias) {
    bqkv = new Float64Array(3 * dOut);
    bqkv.set(weights.bq!, 0);
    bqkv.set(weights.bk!, dOut);
    bqkv.set(weights.bv!, 2 * dOut);
  }
  let wo: PackedWeights | undefined = config.outProj ? packWeights(dOut, [{ data: weights.wo!, outDim: dOut }]) : undefined;
  const bo = config.outProjBias ? Float64Array.from(weights.bo!) : undefined;
  const scratch = new ScratchPool(options.retainScratch);

  return {
    get scratchElements() {
      return scratch.heldElements;
    },
    forward(input: ValidInput, opts): KernelForwardResult {
      // Core raises MHA_DISPOSED before calling a disposed kernel; this guards direct use.
      if (wqkv === undefined) throw new Error('ts module kernel used after dispose()');
      const { x, batch: B, tokens: T } = input;
      const rows = B * T;
      const tile = scratch.get('tile', TILE * TILE);
      try {
        // 1. Fused projection. Row panels of x are shared scratch with the merged heads' (step 3).
        const xPanels = scratch.get('rowPanels', roundUpToTile(rows) * dIn);
        packRowPanels(x, 0, dIn, rows, dIn, xPanels);
        const qkv = scratch.get('qkv', rows * 3 * dOut);
        matmulPacked(xPanels, rows, wqkv, bqkv, qkv, 3 * dOut, tile);

        // 2. Attention; without an output projection it writes the float32 result directly.
        const merged = wo ? scratch.get('merged', rows * dOut) : new Float32Array(rows * dOut);
        const attentionWeights = opts.returnAttentionWeights ? new Float32Array(B * H * T * T) : undefined;
        const view = (offset: number) => ({ data: qkv, offset, batchStride: T * 3 * dOut, headStride: dh, rowStride: 3 * dOut });
        const attention: AttentionProblem = {
          batch: B,
          qHeads: H,
          kvHeads: H,
          tq: T,
          tk: T,
          dk: dh,
          dv: dh,
          q: view(0),
          k: view(dOut),
          v: view(2 * dOut),
          out: { data: merged, offset: 0, batchStride: T * dOut, headStride: dh, rowStride: dOut },
          scale: config.scale,
          causal: config.causal,
          softcap: 0,
          mask: undefined,
          weights: attentionWeights,
        };
        runAttention(attention, scratch);

        // 3. Output projection.
        let output: Float32Array;
        if (wo) {
          const mergedPanels = scratch.get('rowPanels', roundUpToTile(rows) * dOut);
          packRowPanels(merged, 0, dOut, rows, dOut, mergedPanels);
          output = new Float32Array(rows * dOut);
          matmulPacked(mergedPanels, rows, wo, bo, output, dOut, tile);
        } else {
          output = merged as Float32Array;
        }

        const trace = opts.trace ? traceOf({ batch: B, tokens: T, heads: H, input: x.length, qkv: qkv.length, attention, merged: merged.length, output: output.length }) : undefined;
        return { output, attentionWeights, trace };
      } finally {
        scratch.release();
      }
    },
    dispose() {
      wqkv = undefined;
      wo = undefined;
      scratch.clear();
    },
  };
}
