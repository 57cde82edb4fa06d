import type { KernelForwardResult, MhaWeights, ModuleKernel, ResolvedMhaConfig, ValidInput } from '@mha/core';
import { attentionProblem, packModule, phasesOf, phaseUnits, runPhase, type ForwardBuffers, type PackedModule } from './forward-phases.js';
import { ScratchPool } from './scratch.js';
import { traceOf } from './trace.js';

/** Tuning of a module kernel. */
export interface ModuleKernelOptions {
  /** Keep work buffers between forwards (see `TsBackendOptions.retainScratch`). */
  readonly retainScratch: boolean;
}

/** A synchronous {@link ModuleKernel} that also reports its scratch use (for tests of the O(T x D) memory claim). */
export interface TsModuleKernel extends ModuleKernel {
  /** Elements held in work buffers right now. */
  readonly scratchElements: number;
  forward(input: ValidInput, options: { returnAttentionWeights: boolean; trace: boolean }): KernelForwardResult;
  /** Drops the packed weights and work buffers; `forward` afterwards throws. */
  dispose(): void;
}

/**
 * Builds the single-threaded module kernel: packs the weights once ({@link packModule}), then each
 * forward runs the three phases over all units:
 * 1. one GEMM `x @ [wq|wk|wv] + b` into a `[B*T, 3*dOut]` buffer (the logical `[B, T, 3, H, dh]`),
 * 2. tiled attention reading q/k/v heads as strided views of that buffer, writing merged heads,
 * 3. one GEMM `merged @ wo + bo` into the float32 output.
 *
 * The threaded kernel runs the very same phase functions on parts of the units, which is why its
 * results are bit-identical to this one's. The caller's arrays are not retained.
 */
export function createModuleKernel(config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, options: ModuleKernelOptions): TsModuleKernel {
  let packed: PackedModule | undefined = packModule(config, weights);
  const scratch = new ScratchPool(options.retainScratch);

  return {
    get scratchElements() {
      return scratch.heldElements;
    },
    forward(input: ValidInput, opts): KernelForwardResult {
      // Core raises MHA_DISPOSED before calling a disposed kernel; this guards direct use.
      if (packed === undefined) throw new Error('ts module kernel used after dispose()');
      const m = packed;
      const { x, batch: B, tokens: T } = input;
      const rows = B * T;
      try {
        const output = new Float32Array(rows * m.dOut);
        const buf: ForwardBuffers = {
          batch: B,
          tokens: T,
          x,
          qkv: scratch.get('qkv', rows * 3 * m.dOut),
          // Without an output projection, attention writes the float32 result directly.
          merged: m.wo ? scratch.get('merged', rows * m.dOut) : output,
          output,
          weights: opts.returnAttentionWeights ? new Float32Array(B * m.heads * T * T) : undefined,
        };
        for (const phase of phasesOf(m)) runPhase(m, buf, phase, 0, phaseUnits(m, buf, phase), scratch);
        const trace = opts.trace ? traceOf({ batch: B, tokens: T, heads: m.heads, input: x.length, qkv: buf.qkv.length, attention: attentionProblem(m, buf), merged: buf.merged.length, output: output.length }) : undefined;
        return { output, attentionWeights: buf.weights, trace };
      } finally {
        scratch.release();
      }
    },
    dispose() {
      packed = undefined;
      scratch.clear();
    },
  };
}
