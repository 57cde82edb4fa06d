/** A half-open range of units `[start, end)`; empty when `start === end`. */
export interface UnitRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Splits `units` into `threads` contiguous ranges (the first for the main thread), in blocks of
 * `granularity` units (8 token rows keep every thread's register tiles full), as evenly as the blocks
 * allow. Fewer threads get work when the total (`units * unitCost` multiply-adds) would give a thread
 * less than `minWork`: posting a task and waiting for its answer costs tens of microseconds, more
 * than a small share saves. Trailing ranges are then empty. Always returns `threads` ranges.
 */
export function splitUnits(units: number, threads: number, granularity: number, unitCost: number, minWork: number): UnitRange[] {
  const blocks = Math.ceil(units / granularity);
  const byWork = minWork > 0 ? Math.floor((units * unitCost) / minWork) : threads;
  const parts = Math.max(1, Math.min(threads, blocks, byWork));
  const ranges: UnitRange[] = [];
  for (let i = 0; i < threads; i++) {
    if (i >= parts) {
      ranges.push({ start: units, end: units });
      continue;
    }
    const start = Math.min(units, Math.floor((i * blocks) / parts) * granularity);
    const end = Math.min(units, Math.floor(((i + 1) * blocks) / parts) * granularity);
    ranges.push({ start, end });
  }
  return ranges;
}
