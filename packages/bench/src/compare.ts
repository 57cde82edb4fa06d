import { fmtMs, fmtNum } from './format.js';
import { measured, type BenchResults } from './results.js';

/** One (shape, backend) present in both runs. */
export interface Comparison {
  readonly shape: string;
  readonly backend: string;
  readonly oldMs: number;
  readonly newMs: number;
  /** `newMs / oldMs`: below 1 is faster. */
  readonly ratio: number;
  /** Beyond the noise band (see {@link noiseBand}) or not. */
  readonly verdict: 'faster' | 'slower' | 'same';
  readonly oldPeakRssMiB: number;
  readonly newPeakRssMiB: number;
}

/**
 * Relative change below which two medians count as the same: the larger of 5% and the two runs' relative
 * margins of error added, so a noisy cell needs a bigger change to be called faster or slower.
 */
export function noiseBand(oldRme: number, newRme: number): number {
  return Math.max(0.05, (oldRme + newRme) / 100);
}

/** Per-shape, per-backend ratios new/old, for cells measured in both runs. */
export function compareResults(oldRun: BenchResults, newRun: BenchResults): Comparison[] {
  const old = measured(oldRun.cells);
  const out: Comparison[] = [];
  for (const n of measured(newRun.cells)) {
    const o = old.find((c) => c.shape === n.shape && c.backend === n.backend);
    if (!o) continue;
    const ratio = n.measurement.latency.medianMs / o.measurement.latency.medianMs;
    const band = noiseBand(o.measurement.latency.rmePercent, n.measurement.latency.rmePercent);
    out.push({
      shape: n.shape,
      backend: n.backend,
      oldMs: o.measurement.latency.medianMs,
      newMs: n.measurement.latency.medianMs,
      ratio,
      verdict: ratio < 1 / (1 + band) ? 'faster' : ratio > 1 + band ? 'slower' : 'same',
      oldPeakRssMiB: o.measurement.peakRssMiB,
      newPeakRssMiB: n.measurement.peakRssMiB,
    });
  }
  return out;
}

/** Geometric mean of the ratios per backend (over the shapes both runs measured). */
export function geomeanByBackend(comparisons: readonly Comparison[]): Map<string, { geomean: number; shapes: number }> {
  const by = new Map<string, number[]>();
  for (const c of comparisons) by.set(c.backend, [...(by.get(c.backend) ?? []), c.ratio]);
  return new Map([...by].map(([b, rs]) => [b, { geomean: Math.exp(rs.reduce((s, r) => s + Math.log(r), 0) / rs.length), shapes: rs.length }]));
}

/** Table rows for a comparison (terminal or Markdown). */
export function comparisonRows(comparisons: readonly Comparison[]): { header: string[]; rows: string[][] } {
  return {
    header: ['shape', 'backend', 'old ms', 'new ms', 'new/old', 'verdict', 'peak RSS MiB old -> new'],
    rows: comparisons.map((c) => [c.shape, c.backend, fmtMs(c.oldMs), fmtMs(c.newMs), `${fmtNum(c.ratio)}x`, c.verdict, `${fmtNum(c.oldPeakRssMiB)} -> ${fmtNum(c.newPeakRssMiB)}`]),
  };
}
