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
  /** A note on the conditions of the run (`--note`), shown in BENCHMARKS.md's noise paragraph. */
  readonly note?: string | undefined;
  /** The decode cells (issue 14), when the run had any (absent in results written before they existed). */
  readonly decode?: DecodeRun | undefined;
}

/** Median wall and CPU time of one kind of call, timed in rounds that alternate with the other kinds. */
export interface StepTiming {
  readonly medianMs: number;
  /** Median process CPU time (user + system, every thread of the process) per call. */
  readonly cpuMedianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly samples: number;
}

/** A `decode-step` cell: one new token over a full cache, at two cache lengths (see measure-decode.ts). */
export interface DecodeStepMeasurement {
  readonly kind: 'step';
  /** The cache lengths, shorter first. */
  readonly cacheLengths: readonly [number, number];
  /** `module.forward(x [1, 1, d], { cache })` (projections + attention over the cache), per cache length. */
  readonly module: readonly [StepTiming, StepTiming];
  /** `attention(q, k, v, { cache })` with a `KvCache` (attention only), per cache length. */
  readonly coreCache: readonly [StepTiming, StepTiming];
  /** `attention(q, k, v, { pastKey, pastValue })` at the longer length: the cache passed in whole on every call. */
  readonly corePast: StepTiming;
  readonly rounds: number;
}

/** A `decode-gen` cell: tokens generated one at a time after a prompt (see measure-decode.ts). */
export interface DecodeGenMeasurement {
  readonly kind: 'gen';
  readonly prompt: number;
  readonly tokens: number;
  /** Module level: a prefill `forward(prompt, { cache })`, then `tokens` calls `forward(x [1, 1, d], { cache })`. */
  readonly module: GenTiming;
  /** Core op: each step feeds the previous call's `presentKey`/`presentValue` back as `pastKey`/`pastValue`. */
  readonly corePast: GenTiming;
}

/** Timed generation runs (prefill excluded): the median run as tokens/s and ms per token. */
export interface GenTiming {
  readonly tokensPerSecond: number;
  readonly msPerToken: number;
  /** CPU ms per token of the median run. */
  readonly cpuMsPerToken: number;
  readonly runs: number;
}

/** One decode cell: a backend on `decode-step` or `decode-gen`, measured, skipped (unsupported) or failed. */
export interface DecodeCellResult {
  readonly cell: string;
  readonly backend: string;
  readonly module: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string | undefined;
  readonly measurement?: DecodeStepMeasurement | DecodeGenMeasurement | undefined;
}

/** PyTorch's cached decode step, from scripts/decode-torch.py (its JSON, field for field). */
export interface TorchAnchor {
  /** ISO date-time the script ran. */
  readonly date: string;
  readonly torch: string;
  readonly python?: string | undefined;
  readonly threads: number;
  readonly cpuModel?: string | undefined;
  readonly logicalCpus?: number | undefined;
  readonly loadAverage1m: number;
  readonly stepLayer512Ms: number;
  readonly stepLayer512CpuMs: number;
  readonly stepLayer1024Ms: number;
  readonly stepLayer1024CpuMs: number;
  readonly stepLayerSamples: number;
  readonly stepCore1024Ms: number;
  readonly stepCore1024CpuMs: number;
  readonly gen256LayerTokensPerSecond: number;
  readonly gen256CoreTokensPerSecond: number;
}

/** The decode part of a run: when it ran, under what load, its cells and PyTorch's anchor. */
export interface DecodeRun {
  readonly startedAt: string;
  readonly loadAverageStart: number;
  loadAverageEnd?: number;
  /** The module config of every decode cell (GPT-2 small layer width). */
  readonly config: MhaConfig;
  readonly cells: readonly DecodeCellResult[];
  /** PyTorch's numbers, and where they come from: measured in this run (`--torch`) or a committed file. */
  readonly torch?: { readonly source: string; readonly anchor: TorchAnchor } | undefined;
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

/**
 * One results object from several files (`--results a.json --results b.json`): the forward part (machine,
 * shapes, cells) of the one file that has forward cells, and the decode part of the one file that has
 * decode cells, each keeping its own date and load. Two files with forward cells, or two with decode
 * cells, are an error: their numbers were taken under different conditions and would be mixed up.
 */
export function mergeResults(runs: readonly BenchResults[]): BenchResults {
  if (runs.length === 0) throw new Error('no results to merge');
  if (runs.length === 1) return runs[0]!;
  const forward = runs.filter((r) => r.cells.length > 0);
  const decode = runs.filter((r) => r.decode !== undefined);
  if (forward.length > 1) throw new Error(`${forward.length} results files have forward cells: give one, plus at most one with decode cells`);
  if (decode.length > 1) throw new Error(`${decode.length} results files have decode cells: give one, plus at most one with forward cells`);
  const base = forward[0] ?? runs[0]!;
  const d = decode[0]?.decode;
  return { ...base, ...(d ? { decode: d } : {}) };
}
