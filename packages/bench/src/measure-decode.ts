/**
 * The decode cells (issue 14), measured in a child process like the forward cells. Every backend gets the
 * same module (`DECODE_CONFIG`, `initWeights(config, 1)`) and the same random caches and tokens.
 *
 * - `decode-step`: one new token over a full cache at two lengths (512 and 1,024), through
 *   `module.forward(x [1, 1, 768], { cache })` (the projections of the token plus attention over the cache:
 *   what PyTorch's layer step measures), through the core op with a `KvCache`, and through the core op with
 *   `pastKey`/`pastValue` (the whole cache passed, validated and read on every call) at 1,024. Each call is
 *   followed by `cache.truncate(length)`, so every call sees the same length. The five kinds of call
 *   alternate in rotating order, round after round, so load from other jobs hits them alike.
 * - `decode-gen`: a 16-token prompt (a prefill `forward(prompt, { cache })`, not timed), then 256 tokens one
 *   at a time; and the same through the core op feeding `presentKey`/`presentValue` back. Tokens/s of the
 *   median run.
 *
 * Caches are filled with `append` of random keys and values rather than a prefill forward: what is timed
 * does not depend on where the cached keys came from, and a 1,024-token prefill takes seconds on the slow rows.
 */
import { createKvCache, createModuleCache, initWeights, randomTensor, resolveConfig, type MhaBackend, type Tensor } from '@mha/core';
import { DECODE_CONFIG, GEN_PROMPT, GEN_TOKENS, STEP_CACHE_LENGTHS } from './decode-cells.js';
import { WEIGHT_SEED } from './measure-cell.js';
import type { DecodeGenMeasurement, DecodeStepMeasurement, GenTiming, StepTiming } from './results.js';
import { median, type SamplingPolicy } from './sampling.js';

/** Warm-up rounds of `decode-step` (every kind of call, before timing). */
export const STEP_WARMUP_ROUNDS = 3;
/** Most rounds of `decode-step` (fast rows stop here rather than at the time budget). */
export const STEP_MAX_ROUNDS = 400;
/** Most timed generation runs of `decode-gen` per kind. */
export const GEN_MAX_RUNS = 3;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median, min and max of paired wall/CPU samples. */
export function stepTiming(wall: readonly number[], cpu: readonly number[]): StepTiming {
  return { medianMs: median(wall), cpuMedianMs: median(cpu), minMs: Math.min(...wall), maxMs: Math.max(...wall), samples: wall.length };
}

/**
 * Calls every function once per round, in an order rotated by one each round, until at least
 * `minRounds` rounds and `budgetMs` have passed (or `maxRounds`); wall and CPU ms per call of each.
 */
export async function pairedRounds(
  calls: readonly (() => Promise<unknown>)[],
  opts: { warmupRounds: number; minRounds: number; budgetMs: number; maxRounds: number },
): Promise<{ timings: StepTiming[]; rounds: number }> {
  for (let r = 0; r < opts.warmupRounds; r++) for (const call of calls) await call();
  const wall = calls.map(() => [] as number[]);
  const cpu = calls.map(() => [] as number[]);
  const start = performance.now();
  let rounds = 0;
  while (rounds < opts.maxRounds && (rounds < opts.minRounds || performance.now() - start < opts.budgetMs)) {
    for (let i = 0; i < calls.length; i++) {
      const j = (i + rounds) % calls.length;
      const c0 = cpuMs();
      const t0 = performance.now();
      await calls[j]!();
      wall[j]!.push(performance.now() - t0);
      cpu[j]!.push(cpuMs() - c0);
    }
    rounds++;
  }
  return { timings: wall.map((w, i) => stepTiming(w, cpu[i]!)), rounds };
}

/** Keys or values of `length` cached tokens, `[1, heads, length, headDim]`. */
function cached(heads: number, length: number, headDim: number, seed: number): Tensor {
  return randomTensor([1, heads, length, headDim], seed);
}

/** The `decode-step` cell on one backend. */
export async function measureDecodeStep(backend: MhaBackend, policy: SamplingPolicy): Promise<DecodeStepMeasurement> {
  const config = resolveConfig(DECODE_CONFIG);
  const H = config.heads;
  const dh = config.headDim;
  const module = await backend.createModule(config, initWeights(config, WEIGHT_SEED));
  try {
    const x = randomTensor([1, 1, config.dIn], 3);
    const q = randomTensor([1, H, 1, dh], 4);
    const k = randomTensor([1, H, 1, dh], 5);
    const v = randomTensor([1, H, 1, dh], 6);
    const moduleCalls = STEP_CACHE_LENGTHS.map((L, i) => {
      const cache = createModuleCache(module, 1, L + 1);
      cache.append(cached(H, L, dh, 10 + i), cached(H, L, dh, 20 + i));
      return async () => {
        await module.forward(x, { cache });
        cache.truncate(L);
      };
    });
    const coreCacheCalls = STEP_CACHE_LENGTHS.map((L, i) => {
      const cache = createKvCache({ batch: 1, kvHeads: H, capacity: L + 1, keyDim: dh, valueDim: dh });
      cache.append(cached(H, L, dh, 10 + i), cached(H, L, dh, 20 + i));
      return async () => {
        await backend.attention(q, k, v, { causal: true, cache });
        cache.truncate(L);
      };
    });
    const long = STEP_CACHE_LENGTHS[1];
    const pastKey = cached(H, long, dh, 11);
    const pastValue = cached(H, long, dh, 21);
    const corePast = () => backend.attention(q, k, v, { causal: true, pastKey, pastValue });
    const { timings, rounds } = await pairedRounds([...moduleCalls, ...coreCacheCalls, corePast], {
      warmupRounds: STEP_WARMUP_ROUNDS,
      minRounds: policy.minSamples,
      // Five kinds of call share the cell: twice a forward cell's budget.
      budgetMs: 2 * policy.budgetMs,
      maxRounds: STEP_MAX_ROUNDS,
    });
    const [m0, m1, c0, c1, p] = timings as [StepTiming, StepTiming, StepTiming, StepTiming, StepTiming];
    return { kind: 'step', cacheLengths: STEP_CACHE_LENGTHS, module: [m0, m1], coreCache: [c0, c1], corePast: p, rounds };
  } finally {
    await module.dispose();
  }
}

/** The `decode-gen` cell on one backend. */
export async function measureDecodeGen(backend: MhaBackend, policy: SamplingPolicy): Promise<DecodeGenMeasurement> {
  const config = resolveConfig(DECODE_CONFIG);
  const H = config.heads;
  const dh = config.headDim;
  const module = await backend.createModule(config, initWeights(config, WEIGHT_SEED));
  try {
    const prompt = randomTensor([1, GEN_PROMPT, config.dIn], 4);
    const tokens = Array.from({ length: GEN_TOKENS }, (_, s) => randomTensor([1, 1, config.dIn], 100 + s));
    const cache = createModuleCache(module, 1, GEN_PROMPT + GEN_TOKENS);
    /** Prefill, then `n` tokens; wall and CPU ms of the `n` steps. */
    const moduleRun = async (n: number) => {
      cache.reset();
      await module.forward(prompt, { cache });
      const c0 = cpuMs();
      const t0 = performance.now();
      for (let s = 0; s < n; s++) await module.forward(tokens[s]!, { cache });
      return { ms: performance.now() - t0, cpu: cpuMs() - c0 };
    };

    const pq = randomTensor([1, H, GEN_PROMPT, dh], 6);
    const pk = randomTensor([1, H, GEN_PROMPT, dh], 7);
    const pv = randomTensor([1, H, GEN_PROMPT, dh], 8);
    const steps = Array.from({ length: GEN_TOKENS }, (_, s) => randomTensor([1, H, 1, dh], 1000 + s));
    const empty = (): Tensor => ({ data: new Float32Array(0), shape: [1, H, 0, dh] });
    const coreRun = async (n: number) => {
      let r = await backend.attention(pq, pk, pv, { causal: true, pastKey: empty(), pastValue: empty() });
      const c0 = cpuMs();
      const t0 = performance.now();
      for (let s = 0; s < n; s++) {
        const t = steps[s]!;
        if (!r.presentKey || !r.presentValue) throw new Error(`${backend.name}: attention() with pastKey returned no presentKey/presentValue`);
        r = await backend.attention(t, t, t, { causal: true, pastKey: r.presentKey, pastValue: r.presentValue });
      }
      return { ms: performance.now() - t0, cpu: cpuMs() - c0 };
    };

    // Warm-up: a short generation of each kind (JIT, sessions, kernels for the growing lengths).
    await moduleRun(GEN_PROMPT);
    await coreRun(GEN_PROMPT);
    const runs = { module: [] as { ms: number; cpu: number }[], core: [] as { ms: number; cpu: number }[] };
    const start = performance.now();
    while (runs.module.length < GEN_MAX_RUNS && (runs.module.length === 0 || performance.now() - start < policy.budgetMs)) {
      runs.module.push(await moduleRun(GEN_TOKENS));
      runs.core.push(await coreRun(GEN_TOKENS));
    }
    return { kind: 'gen', prompt: GEN_PROMPT, tokens: GEN_TOKENS, module: genTiming(runs.module, GEN_TOKENS), corePast: genTiming(runs.core, GEN_TOKENS) };
  } finally {
    await module.dispose();
  }
}

/** Tokens/s and ms per token of the median run (by wall time) of `tokens` steps each. */
export function genTiming(runs: readonly { ms: number; cpu: number }[], tokens: number): GenTiming {
  if (runs.length === 0) throw new Error('no generation run');
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  // The lower middle run: an actual run (its CPU time belongs to it), not an average of two.
  const mid = sorted[(sorted.length - 1) >> 1]!;
  return { tokensPerSecond: (tokens * 1000) / mid.ms, msPerToken: mid.ms / tokens, cpuMsPerToken: mid.cpu / tokens, runs: runs.length };
}
