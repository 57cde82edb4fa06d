import { Bench } from 'tinybench';
import type { Latency } from './results.js';

/** How long and how often to time one cell. */
export interface SamplingPolicy {
  /** Time budget of the timed phase, ms (tinybench `time`). */
  readonly budgetMs: number;
  /** Minimum timed calls for a normal cell (tinybench `iterations`). */
  readonly minSamples: number;
  /** A cell whose first (cold) call takes at least this long is "slow". */
  readonly slowThresholdMs: number;
  /** Timed calls of a slow cell; its cold first call is its only warm-up. */
  readonly slowMinSamples: number;
  /** Warm-up budget of a normal cell, ms; at least {@link WARMUP_CALLS} calls. */
  readonly warmupMs: number;
}

/** The defaults: ~2.5 s and >= 5 samples per cell; cells >= 2 s per call get 3 samples. */
export const DEFAULT_POLICY: SamplingPolicy = { budgetMs: 2500, minSamples: 5, slowThresholdMs: 2000, slowMinSamples: 3, warmupMs: 500 };

/** Minimum warm-up calls of a normal cell (after the cold first call). */
export const WARMUP_CALLS = 2;

/** tinybench options for a cell whose cold first call took `firstMs`, and a description of them. */
export function planFor(policy: SamplingPolicy, firstMs: number): { options: ConstructorParameters<typeof Bench>[0]; description: string } {
  if (firstMs >= policy.slowThresholdMs) {
    return {
      options: { time: 0, iterations: policy.slowMinSamples, warmup: false, throws: true },
      description: `slow cell (first call ${Math.round(firstMs)} ms >= ${policy.slowThresholdMs} ms): the first call is the warm-up, then ${policy.slowMinSamples} timed calls`,
    };
  }
  return {
    options: { time: policy.budgetMs, iterations: policy.minSamples, warmup: true, warmupTime: policy.warmupMs, warmupIterations: WARMUP_CALLS, throws: true },
    description: `first call, warm-up >= ${policy.warmupMs} ms and >= ${WARMUP_CALLS} calls, then >= ${policy.budgetMs} ms and >= ${policy.minSamples} timed calls`,
  };
}

/** Latency of a finished tinybench task, or an error naming its state. */
export function latencyOf(bench: Bench, taskName: string): Latency {
  const task = bench.getTask(taskName);
  if (!task) throw new Error(`tinybench has no task '${taskName}'`);
  const r = task.result;
  if (r.state === 'errored') throw r.error;
  if (r.state !== 'completed') throw new Error(`benchmark task '${taskName}' ended in state '${r.state}'`);
  const l = r.latency;
  return { medianMs: l.p50, minMs: l.min, maxMs: l.max, meanMs: l.mean, rmePercent: l.rme, samples: l.samplesCount };
}

/** Median of unsorted numbers (pooled samples of several runs). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
