import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatTensor } from './format-tensor.js';

/** Written by test-support/format-tensor-torch.py: PyTorch 1.13's own printing is the oracle. */
interface OracleCase {
  name: string;
  shape: number[];
  dtype: 'float32' | 'float64';
  data: (number | string)[];
  options: { precision: number; threshold: number; edgeitems: number; linewidth: number; sciMode: boolean | null };
  torchRepr: string;
  expected: string;
}
const oracle = JSON.parse(readFileSync(new URL('./test-support/format-tensor-torch.json', import.meta.url), 'utf8')) as { cases: OracleCase[] };

function tensorOf(c: OracleCase) {
  const values = c.data.map((v) => (typeof v === 'number' ? v : ({ nan: NaN, inf: Infinity, '-inf': -Infinity } as Record<string, number>)[v]!));
  return { data: c.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), shape: c.shape };
}

describe('formatTensor against PyTorch 1.13', () => {
  it('has the oracle cases', () => {
    expect(oracle.cases.length).toBeGreaterThan(30);
  });
  for (const c of oracle.cases) {
    const options = { ...c.options, sciMode: c.options.sciMode ?? undefined };
    it(`${c.name}: shape and dtype suffixes laid out by torch's suffix rule`, () => {
      expect(formatTensor(tensorOf(c), options)).toBe(c.expected);
    });
    if (c.dtype === 'float32' && c.shape.every((d) => d > 0) && c.shape.length !== 0 || c.name === 'scalar') {
      it(`${c.name}: { suffix: false } is torch's repr`, () => {
        expect(formatTensor(tensorOf(c), { ...options, suffix: false })).toBe(c.torchRepr);
      });
    }
  }
});

describe('formatTensor', () => {
  it('defaults to torch print options (precision 4, threshold 1000, edgeitems 3, linewidth 80)', () => {
    const defaults = oracle.cases.filter((c) => JSON.stringify(c.options) === JSON.stringify({ precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: null }));
    expect(defaults.map((c) => c.name)).toContain('elided vector at the default threshold');
    for (const c of defaults) expect(formatTensor(tensorOf(c))).toBe(c.expected);
  });
  it('rejects data whose length does not match the shape', () => {
    expect(() => formatTensor({ data: new Float32Array(5), shape: [2, 3] })).toThrow(RangeError);
  });
  it('does not write to the tensor', () => {
    const data = Float32Array.from([0.5, -1.25, 3]);
    formatTensor({ data, shape: [3] });
    expect(Array.from(data)).toEqual([0.5, -1.25, 3]);
  });
});
