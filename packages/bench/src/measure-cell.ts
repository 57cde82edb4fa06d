import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { initWeights, randomTensor, resolveConfig, type MhaBackend } from '@mha/core';
import { Bench } from 'tinybench';
import { measureCoreInput } from './core-input.js';
import { measureOrtOverhead, ortOptionsOf } from './ort-overhead.js';
import type { CellMeasurement } from './results.js';
import { latencyOf, planFor, type SamplingPolicy } from './sampling.js';
import type { BenchShape } from './shapes.js';

/** Seed of `initWeights`: every backend gets the same weights, so output sums are comparable. */
export const WEIGHT_SEED = 1;
/** Seed of the input `randomTensor`, shared by every backend for the same reason. */
export const INPUT_SEED = 2;

const MiB = 1024 * 1024;

/**
 * A full GC before the base RSS is read, so it depends less on earlier garbage. The flag is set at run
 * time rather than with `node --expose-gc`: worker threads inherit the command line's execArgv and Node
 * refuses to start a Worker with that flag (backends such as ts-threads start workers).
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Peak RSS of this process so far, MiB (`maxRSS` is in KiB on every platform Node supports). */
function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Threads the backend says it computes with: onnxruntime's `intraOpNumThreads`, or a numeric `threads` property. */
function threadsOf(backend: MhaBackend): string | undefined {
  const ort = ortOptionsOf(backend);
  if (ort) return ort.intraOpNumThreads === 0 ? 'onnxruntime default' : String(ort.intraOpNumThreads);
  const threads = (backend as { threads?: unknown }).threads;
  return typeof threads === 'number' ? String(threads) : undefined;
}

/**
 * Measures one backend on one shape in this process: builds the module once (`initWeights(config, 1)`),
 * times only `forward(x)` without attention weights, then records the process's peak memory. For an
 * onnxruntime backend on a shape with `ortOverhead` it then also measures the wrapper's overhead over a
 * bare session (after the peak is taken, so that second session does not count against the backend).
 * Last, core's per-call input validation and copy are timed on the same input ({@link measureCoreInput}).
 */
export async function measureCell(backend: MhaBackend, shape: BenchShape, policy: SamplingPolicy): Promise<CellMeasurement> {
  const config = resolveConfig(shape.config);
  const weights = initWeights(config, WEIGHT_SEED);
  const x = randomTensor([shape.batch, shape.tokens, config.dIn], INPUT_SEED);
  collectGarbage();
  const baseRssMiB = process.memoryUsage().rss / MiB;

  let t = performance.now();
  const module = await backend.createModule(config, weights);
  const createModuleMs = performance.now() - t;
  try {
    t = performance.now();
    const first = await module.forward(x);
    const firstForwardMs = performance.now() - t;
    let outputSum = 0;
    let outputAbsSum = 0;
    for (const v of first.output.data) {
      outputSum += v;
      outputAbsSum += Math.abs(v);
    }
    if (!Number.isFinite(outputAbsSum)) throw new Error(`${backend.name} produced a non-finite output on ${shape.name}`);

    let warmForwardMs: number | undefined;
    if (firstForwardMs >= policy.slowThresholdMs) {
      t = performance.now();
      await module.forward(x);
      warmForwardMs = performance.now() - t;
    }
    const plan = planFor(policy, firstForwardMs, warmForwardMs);
    const bench = new Bench(plan.options);
    bench.add('forward', () => module.forward(x), { async: true });
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await bench.run();
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPerWall = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);
    const latency = latencyOf(bench, 'forward');
    const peak = peakRssMiB();
    // After the peak is taken: the copies it times allocate.
    const coreInput = measureCoreInput(backend, config, x);

    const ort = ortOptionsOf(backend);
    const ortOverhead = ort && shape.ortOverhead ? await measureOrtOverhead(module, ort, config, weights, x, policy) : undefined;
    return {
      latency,
      firstForwardMs,
      warmForwardMs,
      createModuleMs,
      sampling: plan.description,
      peakRssMiB: peak,
      baseRssMiB,
      extraRssMiB: Math.max(0, peak - baseRssMiB),
      outputSum,
      outputAbsSum,
      cpuPerWall,
      threads: threadsOf(backend),
      ortOverhead,
      coreInput,
    };
  } finally {
    await module.dispose();
  }
}
