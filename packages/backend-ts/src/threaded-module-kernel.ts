import { privateCopy, type KernelForwardResult, type MhaWeights, type ModuleKernel, type ResolvedMhaConfig, type ValidInput } from '@mha/core';
import { attentionProblem, packModule, phasesOf, phaseUnitCost, phaseUnits, runPhase, type ForwardBuffers, type PackedModule, type Phase } from './forward-phases.js';
import { TILE } from './micro-kernel.js';
import { ScratchPool } from './scratch.js';
import { traceOf } from './trace.js';
import { splitUnits, type UnitRange } from './work-split.js';
import type { WorkerPool } from './worker-pool.js';

/** Settings of a threaded module kernel. */
export interface ThreadedKernelOptions {
  /** The backend's workers (shared by its modules). */
  readonly pool: WorkerPool;
  /** Keep work buffers between forwards (see `TsBackendOptions.retainScratch`). */
  readonly retainScratch: boolean;
  /** Least multiply-adds a thread must get before a phase is split (see {@link splitUnits}). */
  readonly minWorkPerThread: number;
}

/** A {@link ModuleKernel} whose forwards run on the main thread plus the pool's workers. */
export interface ThreadedModuleKernel extends ModuleKernel {
  forward(input: ValidInput, options: { returnAttentionWeights: boolean; trace: boolean }): Promise<KernelForwardResult>;
  dispose(): void;
}

const allocateShared = (bytes: number) => new SharedArrayBuffer(bytes);

/**
 * The multi-threaded module kernel. Weights are packed once onto shared memory (the workers read the
 * same panels); each forward copies `x` into a shared buffer before it returns, then runs the phases of
 * {@link runPhase} in order, each split across the main thread (first share) and the workers, with
 * every thread done before the next phase starts: projections by blocks of 8 token rows, attention by
 * (batch, head) pairs. q|k|v, merged heads and output stay in shared buffers; only unit ranges travel
 * in messages. The result is copied out of shared memory so callers get ordinary arrays.
 *
 * Every output element is computed by the same function with the same operands in the same order as
 * in the single-threaded kernel, so results are bit-identical to it. Forwards on one module run one at
 * a time, in call order (they share the module's buffers); different modules interleave freely.
 */
export function createThreadedModuleKernel(config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, options: ThreadedKernelOptions): ThreadedModuleKernel {
  const { pool, minWorkPerThread } = options;
  let packed: PackedModule | undefined = packModule(config, weights, (n) => new Float64Array(allocateShared(n * 8)));
  // The pool holds the module weakly: once this kernel (whose closures hold `module`) is garbage-
  // collected without dispose(), the workers drop its weights.
  const module: { id: number; packed: PackedModule } = { id: 0, packed };
  module.id = pool.addModule(module, packed);
  const local = new ScratchPool(options.retainScratch); // the main thread's share
  const shared = new ScratchPool(options.retainScratch, allocateShared);
  let queue: Promise<unknown> = Promise.resolve();
  /** Forwards called and not yet settled: while one runs, the shared `x` buffer is in use. */
  let pending = 0;

  /** Each phase's units split over the threads; the first range is the calling thread's. */
  function plan(m: PackedModule, batch: number, tokens: number): { phase: Phase; ranges: UnitRange[] }[] {
    return phasesOf(m).map((phase) => {
      const granularity = phase === 'attention' ? 1 : TILE;
      return { phase, ranges: splitUnits(phaseUnits(m, { batch, tokens }, phase), pool.size + 1, granularity, phaseUnitCost(m, tokens, phase), minWorkPerThread) };
    });
  }

  async function runSplit(m: PackedModule, buf: ForwardBuffers, phase: Phase, ranges: UnitRange[], workers: boolean): Promise<void> {
    if (!workers) {
      // No workers could be started: every share on this thread, with the same results.
      for (const r of ranges) runPhase(m, buf, phase, r.start, r.end, local);
      return;
    }
    const jobs: Promise<void>[] = [];
    ranges.forEach((r, i) => {
      if (i > 0 && r.end > r.start) jobs.push(pool.run(i - 1, module, { phase, start: r.start, end: r.end, buffers: buf }));
    });
    let mainFailure: { error: unknown } | undefined;
    try {
      runPhase(m, buf, phase, ranges[0]!.start, ranges[0]!.end, local);
    } catch (error) {
      mainFailure = { error };
    }
    // Wait for every worker even after a failure here: none may still write when the call returns.
    const settled = await Promise.allSettled(jobs);
    if (mainFailure) throw mainFailure.error;
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  }

  /**
   * The call's copy of `input.x`, made before `forward` returns (so core need not make one): straight
   * into the shared buffer when no forward is pending, else into a private array that
   * {@link forwardNow} moves into the shared buffer when its turn comes.
   */
  function takeInput(input: ValidInput, m: PackedModule): { x: Float32Array; isShared: boolean } {
    if (pending > 0) return { x: privateCopy(Float32Array, input.x), isShared: false };
    const x = shared.getFloat32('x', input.batch * input.tokens * m.dIn);
    x.set(input.x);
    return { x, isShared: true };
  }

  async function forwardNow(batch: number, tokens: number, input: { x: Float32Array; isShared: boolean }, opts: { returnAttentionWeights: boolean; trace: boolean }): Promise<KernelForwardResult> {
    const m = packed;
    if (m === undefined) throw new Error('ts-threads module kernel used after dispose()');
    const [B, T] = [batch, tokens];
    const rows = B * T;
    try {
      const phases = plan(m, B, T);
      // Workers start only for inputs large enough to share, and before the first phase, so that
      // every task is posted before the calling thread starts on its own share.
      // A pool that cannot start workers answers false (and records why): this call computes alone.
      const workers = phases.some((p) => p.ranges.some((r, i) => i > 0 && r.end > r.start)) && (await pool.start());
      let x = input.x;
      if (!input.isShared) {
        x = shared.getFloat32('x', rows * m.dIn);
        x.set(input.x);
      }
      const output = shared.getFloat32('output', rows * m.dOut);
      const buf: ForwardBuffers = {
        batch: B,
        tokens: T,
        x,
        qkv: shared.get('qkv', rows * 3 * m.dOut),
        merged: m.wo ? shared.get('merged', rows * m.dOut) : output,
        output,
        // Fresh (zeroed) each call: causal positions are never written.
        weights: opts.returnAttentionWeights ? new Float32Array(allocateShared(B * m.heads * T * T * 4)) : undefined,
      };
      for (const { phase, ranges } of phases) await runSplit(m, buf, phase, ranges, workers);
      const trace = opts.trace ? traceOf({ batch: B, tokens: T, heads: m.heads, input: x.length, qkv: buf.qkv.length, attention: attentionProblem(m, buf), merged: buf.merged.length, output: output.length }) : undefined;
      // slice() of a shared view gives an ordinary (unshared) array.
      return { output: output.slice(), attentionWeights: buf.weights?.slice(), trace };
    } catch (e) {
      // After a worker failure its buffers may have been written late: start the next call on new ones.
      shared.clear();
      throw e;
    } finally {
      shared.release();
      local.release();
    }
  }

  return {
    forward(input, opts) {
      const m = packed;
      if (m === undefined) return Promise.reject(new Error('ts-threads module kernel used after dispose()'));
      // x is read here, synchronously (the backend sets readsInputsSynchronously); the queue keeps only the copy.
      const x = takeInput(input, m);
      const { batch, tokens } = input;
      pending++;
      const run = queue.then(() => forwardNow(batch, tokens, x, opts)).finally(() => pending--);
      queue = run.catch(() => undefined);
      return run;
    },
    dispose() {
      packed = undefined;
      pool.forget(module.id, module);
      local.clear();
      shared.clear();
    },
  };
}
