import { Bench } from 'tinybench';
import type { Latency } from './results.js';

/** How long and how often to time one cell. */
export interface SamplingPolicy {
  /** Time budget of the timed phase, ms (tinybench `time`). */
  readonly budgetMs: number;
  /** Minimum timed calls for a normal cell (tinybench `iterations`). */
  readonly minSamples: number;
  /** A cell whose warm call takes at least this long is "slow" (see {@link planFor}). */
  readonly slowThresholdMs: number;
  /** Timed calls of a slow cell; its cold and warm calls are its warm-up. */
  readonly slowMinSamples: number;
  /** Warm-up budget of a normal cell, ms; at least {@link WARMUP_CALLS} calls. */
  readonly warmupMs: number;
}

/** The defaults: ~2.5 s and >= 5 samples per cell; cells >= 2 s per call get 3 samples. */
export const DEFAULT_POLICY: SamplingPolicy = { budgetMs: 2500, minSamples: 5, slowThresholdMs: 2000, slowMinSamples: 3, warmupMs: 500 };

/** Minimum warm-up calls of a normal cell (after the cold first call). */
export const WARMUP_CALLS = 2;

/**
 * tinybench options for a cell from its call times so far, and a description of them. `warmMs` is the
 * second call, made only when the cold first call reached the slow threshold (a cold call can be several
 * times slower: JIT, onnxruntime's arena, tfjs kernel set-up). A cell is slow when its warm call still
 * takes `slowThresholdMs`: the calls so far are its warm-up and it gets exactly `slowMinSamples` timed calls.
 */
export function planFor(policy: SamplingPolicy, firstMs: number, warmMs?: number): { options: ConstructorParameters<typeof Bench>[0]; description: string } {
  const probe = warmMs ?? firstMs;
  if (probe >= policy.slowThresholdMs) {
    return {
      options: { time: 0, iterations: policy.slowMinSamples, warmup: false, throws: true },
      description: `slow cell (warm call ${Math.round(probe)} ms >= ${policy.slowThresholdMs} ms): a cold and a warm call, then ${policy.slowMinSamples} timed calls`,
    };
  }
  return {
    options: { time: policy.budgetMs, iterations: policy.minSamples, warmup: true, warmupTime: policy.warmupMs, warmupIterations: WARMUP_CALLS, throws: true },
    description: `a cold call${warmMs === undefined ? '' : ' and a warm one'}, warm-up >= ${policy.warmupMs} ms and >= ${WARMUP_CALLS} calls, then >= ${policy.budgetMs} ms and >= ${policy.minSamples} timed calls`,
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
