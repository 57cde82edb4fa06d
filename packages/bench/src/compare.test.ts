import { describe, expect, it } from 'vitest';
import { compareResults, geomeanByBackend, noiseBand } from './compare.js';
import { RESULTS_FORMAT, parseResults, type BenchResults, type CellResult } from './results.js';
import { DEFAULT_POLICY } from './sampling.js';

function cell(shape: string, backend: string, medianMs: number, rmePercent = 1): CellResult {
  return {
    shape,
    backend,
    module: 'm',
    status: 'ok',
    measurement: {
      latency: { medianMs, minMs: medianMs, maxMs: medianMs, meanMs: medianMs, rmePercent, samples: 5 },
      firstForwardMs: medianMs,
      createModuleMs: 1,
      sampling: '',
      peakRssMiB: 100,
      baseRssMiB: 80,
      extraRssMiB: 20,
      outputSum: 0,
      outputAbsSum: 1,
      cpuPerWall: 1,
    },
  };
}

function run(cells: CellResult[]): BenchResults {
  return {
    format: RESULTS_FORMAT,
    startedAt: '2026-01-01T00:00:00.000Z',
    machine: { cpuModel: 'cpu', logicalCpus: 1, availableParallelism: 1, totalMemoryGiB: 1, os: 'os', node: 'v20', loadAverageStart: 0, versions: {} },
    options: DEFAULT_POLICY,
    shapes: [],
    cells,
  };
}

describe('compareResults', () => {
  it('gives new/old per cell present in both runs, with a verdict outside the noise band', () => {
    const old = run([cell('small', 'ts', 10), cell('small', 'tfjs-wasm', 4), cell('book', 'ts', 1), cell('long', 'ts', 100)]);
    const now = run([cell('small', 'ts', 5), cell('small', 'tfjs-wasm', 4.1), cell('book', 'ts', 2), { shape: 'long', backend: 'ts', module: 'm', status: 'failed', reason: 'x' }]);
    const c = compareResults(old, now);
    expect(c.map((x) => `${x.shape}/${x.backend}`)).toEqual(['small/ts', 'small/tfjs-wasm', 'book/ts']);
    expect(c[0]).toMatchObject({ oldMs: 10, newMs: 5, ratio: 0.5, verdict: 'faster' });
    expect(c[1]!.verdict).toBe('same');
    expect(c[2]).toMatchObject({ ratio: 2, verdict: 'slower' });
    const g = geomeanByBackend(c).get('ts')!;
    expect(g.shapes).toBe(2);
    expect(g.geomean).toBeCloseTo(Math.sqrt(0.5 * 2), 12);
  });

  it('widens the noise band with the margins of error', () => {
    expect(noiseBand(1, 1)).toBe(0.05);
    expect(noiseBand(10, 5)).toBeCloseTo(0.15, 12);
    const c = compareResults(run([cell('s', 'b', 10, 10)]), run([cell('s', 'b', 11.2, 5)]));
    expect(c[0]!.verdict).toBe('same');
  });
});

describe('parseResults', () => {
  it('round-trips a results file and rejects anything else', () => {
    const r = run([cell('small', 'ts', 3)]);
    expect(parseResults(JSON.stringify(r), 'r.json')).toEqual(r);
    expect(() => parseResults(JSON.stringify({ format: 'other', cells: [], shapes: [] }), 'bad.json')).toThrow(/bad.json is not an mha-bench/);
  });
});
