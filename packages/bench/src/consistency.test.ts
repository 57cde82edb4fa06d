import { describe, expect, it } from 'vitest';
import { OUTPUT_SUM_TOLERANCE, outputMismatches } from './consistency.js';
import type { CellResult } from './results.js';

function cell(backend: string, outputSum: number, outputAbsSum = 1000): CellResult {
  const latency = { medianMs: 1, minMs: 1, maxMs: 1, meanMs: 1, rmePercent: 0, samples: 5 };
  return {
    shape: 'small',
    backend,
    module: 'm',
    status: 'ok',
    measurement: { latency, firstForwardMs: 1, createModuleMs: 1, sampling: '', peakRssMiB: 1, baseRssMiB: 1, extraRssMiB: 0, outputSum, outputAbsSum, cpuPerWall: 1 },
  };
}

describe('outputMismatches', () => {
  it('flags the backend whose output sum is off, not the agreeing ones', () => {
    const off = 12.5 + 1000 * OUTPUT_SUM_TOLERANCE * 10;
    const flagged = outputMismatches([cell('a', 12.5), cell('b', 12.5 + 1e-4), cell('c', off)]);
    expect([...flagged.keys()]).toEqual(['small/c']);
    expect(flagged.get('small/c')).toBeCloseTo((off - (12.5 + 1e-4)) / 1000, 9);
  });

  it('says nothing with fewer than three backends on a shape (no majority to judge by)', () => {
    expect(outputMismatches([cell('a', 1), cell('b', 500)]).size).toBe(0);
  });
});
