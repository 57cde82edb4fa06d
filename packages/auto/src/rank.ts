import type { Runtime } from '@mha/core';
import type { Candidate } from './candidates.js';

/** Benchmark medians the picker orders candidates by (see src/measured.ts, generated from packages/bench/results). */
export interface Measured {
  /** Where the numbers come from. */
  readonly source: string;
  /** Day of the run (YYYY-MM-DD). */
  readonly date: string;
  /** The runtime the numbers were measured in; other runtimes keep the default order. */
  readonly runtime: Runtime;
  readonly shapes: readonly {
    readonly name: string;
    readonly description: string;
    /** Multiply-adds x 2 of one forward: projections plus full attention. */
    readonly flops: number;
    /** Median ms per forward, by backend name. */
    readonly ms: Readonly<Record<string, number>>;
  }[];
}

/** The work of the forwards you will run: batch, sequence length and the module's widths. */
export interface Workload {
  readonly batch: number;
  /** Query (and key) tokens per sequence. */
  readonly seqLen: number;
  readonly config: { readonly dIn: number; readonly dOut: number; readonly outProj?: boolean | undefined };
}

/** FLOPs of one forward, counted as the benchmark does: projections (q, k, v, out) plus full attention. */
export function forwardFlops({ batch, seqLen, config }: Workload): number {
  const rows = batch * seqLen;
  const projections = 2 * rows * config.dIn * config.dOut * 3 + (config.outProj === false ? 0 : 2 * rows * config.dOut * config.dOut);
  return projections + 4 * batch * seqLen * seqLen * config.dOut;
}

function formatFlops(f: number): string {
  const units: [number, string][] = [[1e9, 'GFLOP'], [1e6, 'MFLOP'], [1e3, 'kFLOP']];
  for (const [scale, unit] of units) if (f >= scale) return `${(f / scale).toPrecision(3)} ${unit}`;
  return `${f} FLOP`;
}

/**
 * Orders `candidates` for a workload by measured speed: the benchmark shape closest in FLOPs (on a log
 * scale) among those that measured the same candidates decides, fastest first; candidates it did not measure follow in their given order. Without a
 * workload, or in a runtime the numbers were not measured in, the order is kept. `basis` says which.
 */
export function rankCandidates(candidates: readonly Candidate[], runtime: Runtime, workload: Workload | undefined, measured: Measured): { ordered: Candidate[]; basis: string } {
  if (workload === undefined) return { ordered: [...candidates], basis: 'default order, fastest on CPU for most shapes (pass config and shape to choose by measured speed for yours)' };
  if (runtime !== measured.runtime || measured.shapes.length === 0) return { ordered: [...candidates], basis: `default order for ${runtime} (speeds were measured in ${measured.runtime} only)` };
  const flops = forwardFlops(workload);
  // Only shapes on which every candidate measured anywhere was measured (a shape run for one backend
  // alone would put it first); failing that, the shapes that measured the most of them.
  const timedAnywhere = candidates.filter((c) => measured.shapes.some((s) => s.ms[c.name] !== undefined));
  const coverage = (s: Measured['shapes'][number]): number => timedAnywhere.filter((c) => s.ms[c.name] !== undefined).length;
  const best = Math.max(...measured.shapes.map(coverage));
  const comparable = measured.shapes.filter((s) => coverage(s) === best);
  const nearest = comparable.reduce((best, s) => (Math.abs(Math.log(s.flops / flops)) < Math.abs(Math.log(best.flops / flops)) ? s : best));
  const timed = candidates.filter((c) => nearest.ms[c.name] !== undefined).sort((a, b) => nearest.ms[a.name]! - nearest.ms[b.name]!);
  const untimed = candidates.filter((c) => nearest.ms[c.name] === undefined);
  const speeds = timed.map((c) => `${c.name} ${nearest.ms[c.name]} ms`).join(', ');
  return {
    ordered: [...timed, ...untimed],
    basis: `${formatFlops(flops)} per forward is closest to the benchmark shape '${nearest.name}' (${nearest.description}; ${formatFlops(nearest.flops)}), where the median was ${speeds || 'not measured for these backends'} (${measured.source}, ${measured.date})`,
  };
}
