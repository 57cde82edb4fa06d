import { describe, expect, it } from 'vitest';
import { splitUnits } from './work-split.js';

/** Every unit in exactly one range, in order; interior boundaries on the granularity. */
function expectPartition(units: number, threads: number, granularity: number, ranges: ReturnType<typeof splitUnits>) {
  expect(ranges).toHaveLength(threads);
  let next = 0;
  for (const r of ranges) {
    expect(r.start).toBe(Math.min(next, units));
    expect(r.end).toBeGreaterThanOrEqual(r.start);
    if (r.end < units) expect(r.end % granularity).toBe(0);
    next = r.end;
  }
  expect(next).toBe(units);
}

describe('splitUnits', () => {
  it('partitions every size exactly, for 1 to 5 threads and granularities 1 and 8', () => {
    for (const granularity of [1, 8])
      for (let threads = 1; threads <= 5; threads++)
        for (let units = 1; units <= 70; units++) expectPartition(units, threads, granularity, splitUnits(units, threads, granularity, 1, 0));
  });

  it('balances blocks: shares differ by at most one block', () => {
    const sizes = (units: number, threads: number, g: number) => splitUnits(units, threads, g, 1, 0).map((r) => r.end - r.start);
    expect(sizes(1024, 2, 8)).toEqual([512, 512]);
    expect(sizes(12, 2, 1)).toEqual([6, 6]);
    expect(sizes(5, 3, 1)).toEqual([1, 2, 2]);
    expect(sizes(23, 3, 8)).toEqual([8, 8, 7]);
  });

  it('gives fewer threads work when a share would be under minWork, never fewer than one', () => {
    const busy = (units: number, cost: number, minWork: number) => splitUnits(units, 4, 1, cost, minWork).filter((r) => r.end > r.start).length;
    expect(busy(100, 10, 0)).toBe(4);
    expect(busy(100, 10, 500)).toBe(2);
    expect(busy(100, 10, 334)).toBe(2);
    expect(busy(100, 10, 333)).toBe(3);
    expect(busy(100, 10, 1e9)).toBe(1);
    expectPartition(100, 4, 1, splitUnits(100, 4, 1, 10, 500));
  });

  it('never splits below one block per thread', () => {
    expect(splitUnits(8, 4, 8, 1, 0).map((r) => r.end - r.start)).toEqual([8, 0, 0, 0]);
    expect(splitUnits(3, 2, 1, 1, 0).map((r) => r.end - r.start)).toEqual([1, 2]);
  });
});
