import type { MhaConfig } from '@mha/core';
import type { MachineInfo } from './machine.js';
import type { SamplingPolicy } from './sampling.js';

/** Identifies the JSON written by `--json` (bump on an incompatible change). */
export const RESULTS_FORMAT = 'mha-bench/1';

/** Latency statistics of one measured function, in milliseconds. */
export interface Latency {
  /** Median of the samples: the number the table, ratios and GFLOP/s use. */
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Relative margin of error of the mean, percent (tinybench's `rme`). */
  readonly rmePercent: number;
  /** Timed calls (warm-up excluded). */
  readonly samples: number;
}

/** Wrapper overhead of an onnxruntime backend over a bare `InferenceSession.run` of the same graph. */
export interface OrtOverhead {
  /** Median of `module.forward` in the paired measurement. */
  readonly moduleMedianMs: number;
  /** Median of a bare `session.run` (same exported bytes, same session options, a fresh input Tensor per call). */
  readonly bareMedianMs: number;
  /** `100 * (module / bare - 1)`. */
  readonly overheadPercent: number;
  readonly samplesEach: number;
}

/** Core's per-call work on the input before the kernel runs (`core-input.ts`), timed in the cell's process. */
export interface CoreInputCost {
  /** Median of `validateInput(config, x)`: shape checks and the finite scan, on every backend. */
  readonly validateMs: number;
  /** Median of `privateCopy(Float32Array, x.data)`: the copy core makes for a backend whose kernels may read x late. */
  readonly copyMs: number;
  /** Whether core makes that copy for this backend (false: `readsInputsSynchronously`; undefined: not built by `defineBackend`). */
  readonly copied: boolean | undefined;
}

/** Core's per-call input cost for this backend: validation, plus the copy when core makes it. */
export function coreInputMs(c: CoreInputCost): number {
  return c.validateMs + (c.copied === false ? 0 : c.copyMs);
}

/** What one child process reports for one (backend, shape) cell that ran. */
export interface CellMeasurement {
  readonly latency: Latency;
  /** Wall time of the first forward (cold: JIT, session warm-up, kernel compilation). */
  readonly firstForwardMs: number;
  /** Wall time of a second call, made only when the first reached the slow threshold. */
  readonly warmForwardMs?: number | undefined;
  /** Wall time of `createModule` (weights copied, graph exported, session opened, ...). */
  readonly createModuleMs: number;
  /** How the samples were taken, e.g. "warm-up >= 500 ms / 2 calls, then >= 2500 ms / 5 calls". */
  readonly sampling: string;
  /** Peak resident set size of the child process (`process.resourceUsage().maxRSS`), MiB. */
  readonly peakRssMiB: number;
  /** Resident set size just before `createModule` (modules loaded, inputs built, after a GC), MiB. */
  readonly baseRssMiB: number;
  /** `peakRssMiB - baseRssMiB`: what building the module and running it added at its peak. */
  readonly extraRssMiB: number;
  /** Sum and absolute sum of the output, to cross-check backends on identical inputs and weights. */
  readonly outputSum: number;
  readonly outputAbsSum: number;
  /**
   * CPU time over wall time during the timed phase: ~1 for a single-threaded backend, up to the core
   * count for a multi-threaded one (less when other jobs compete for the cores).
   */
  readonly cpuPerWall: number;
  /** Threads the backend computes with, when known (`intraOpNumThreads` for onnxruntime, else 1 or unknown). */
  readonly threads?: string | undefined;
  readonly ortOverhead?: OrtOverhead | undefined;
  /** Core's per-call input validation and copy for this input (absent in results written before it existed). */
  readonly coreInput?: CoreInputCost | undefined;
}

/** One cell of the table: a backend on a shape, measured, skipped by policy, or failed. */
export interface CellResult {
  readonly shape: string;
  readonly backend: string;
  /** Module the backend came from (a path or package name). */
  readonly module: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  /** Why the cell was skipped, or what went wrong. */
  readonly reason?: string | undefined;
  readonly measurement?: CellMeasurement | undefined;
}

/** FLOP counts of one shape (see flops.ts for the formula). */
export interface ShapeFlops {
  readonly projections: number;
  readonly attentionFull: number;
  readonly attentionHalf: number;
  /** projections + attentionFull. */
  readonly full: number;
  /** projections + attentionHalf (equal to `full` for a non-causal shape). */
  readonly half: number;
}

/** A shape as recorded in the results file. */
export interface ShapeRecord {
  readonly name: string;
  readonly description: string;
  readonly batch: number;
  readonly tokens: number;
  readonly config: MhaConfig;
  readonly flops: ShapeFlops;
}

/** The whole `--json` file. */
export interface BenchResults {
  readonly format: typeof RESULTS_FORMAT;
  /** ISO date-time the run started. */
  readonly startedAt: string;
  readonly machine: MachineInfo;
  /** The sampling policy every cell ran with. */
  readonly options: SamplingPolicy;
  readonly shapes: readonly ShapeRecord[];
  readonly cells: readonly CellResult[];
}

/** Reads a results file written by `--json`, checking its format tag. */
export function parseResults(text: string, source: string): BenchResults {
  const data = JSON.parse(text) as Partial<BenchResults>;
  if (data.format !== RESULTS_FORMAT || !Array.isArray(data.cells) || !Array.isArray(data.shapes)) {
    throw new Error(`${source} is not an ${RESULTS_FORMAT} results file (format: ${String(data.format)})`);
  }
  return data as BenchResults;
}

/** Cells that ran, with their measurement (type-narrowed). */
export function measured(cells: readonly CellResult[]): Array<CellResult & { measurement: CellMeasurement }> {
  return cells.filter((c): c is CellResult & { measurement: CellMeasurement } => c.status === 'ok' && c.measurement !== undefined);
}

/** Median of the fastest backend on a shape, or undefined when nothing ran. */
export function fastestMedian(cells: readonly CellResult[], shape: string): number | undefined {
  const medians = measured(cells)
    .filter((c) => c.shape === shape)
    .map((c) => c.measurement.latency.medianMs);
  return medians.length > 0 ? Math.min(...medians) : undefined;
}
