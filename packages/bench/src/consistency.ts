import { measured, type CellResult } from './results.js';
import { median } from './sampling.js';

/**
 * Relative deviation above which a backend's output sum is flagged. Every backend gets the same weights
 * and input, so float32 rounding moves the sum by ~1e-6 of the absolute sum; a wrong result moves it by
 * far more.
 */
export const OUTPUT_SUM_TOLERANCE = 1e-4;

/**
 * Cells whose output sum departs from the median of the other backends on the same shape, as
 * `shape/backend` -> relative deviation (difference over the absolute sum). Needs 3 backends on a shape
 * to tell which one is off.
 */
export function outputMismatches(cells: readonly CellResult[]): Map<string, number> {
  const flagged = new Map<string, number>();
  const ok = measured(cells);
  for (const shape of new Set(ok.map((c) => c.shape))) {
    const same = ok.filter((c) => c.shape === shape);
    if (same.length < 3) continue;
    const mid = median(same.map((c) => c.measurement.outputSum));
    for (const c of same) {
      const dev = Math.abs(c.measurement.outputSum - mid) / Math.max(c.measurement.outputAbsSum, Number.MIN_VALUE);
      if (dev > OUTPUT_SUM_TOLERANCE) flagged.set(`${c.shape}/${c.backend}`, dev);
    }
  }
  return flagged;
}
