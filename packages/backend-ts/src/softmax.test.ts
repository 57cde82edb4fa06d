import { seededRandom, softmaxInPlace } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { expNonPositive, softmaxStrided } from './softmax.js';

describe('expNonPositive', () => {
  it('is within 1e-12 relative of Math.exp over [-745, 0]', () => {
    // Below -708 it defers to Math.exp (subnormal results), so this mostly checks the polynomial.
    const rand = seededRandom(1);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      // Half the samples near 0 (where softmax weights matter), half over the whole range.
      const x = i % 2 === 0 ? -rand() * 20 : -rand() * 745;
      const e = Math.exp(x);
      worst = Math.max(worst, Math.abs(expNonPositive(x) - e) / e);
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('is exact at 0, tiny negatives and the reduction boundaries', () => {
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-0)).toBe(1);
    for (const x of [-1e-300, -1e-12, -Math.LN2 / 2, -Math.LN2, -1, -100, -700, -708.4, -745]) {
      expect(Math.abs(expNonPositive(x) - Math.exp(x)) / Math.exp(x), `x = ${x}`).toBeLessThan(1e-12);
    }
  });

  it('handles the subnormal range like Math.exp and underflows to 0 (never NaN), also for -Infinity', () => {
    for (const x of [-708.5, -720, -745]) expect(expNonPositive(x), `x = ${x}`).toBe(Math.exp(x));
    for (const x of [-745.2, -746, -1e4, -1e300, -Infinity]) expect(expNonPositive(x), `x = ${x}`).toBe(0);
  });
});

describe('softmaxStrided', () => {
  it('matches the reference softmax on random rows, touching only its stride', () => {
    const rand = seededRandom(2);
    for (const [len, stride] of [
      [1, 1],
      [5, 1],
      [9, 8],
      [33, 3],
    ] as const) {
      const row = Float64Array.from({ length: len }, () => (rand() * 2 - 1) * 10);
      const strided = new Float64Array(2 + len * stride).fill(42);
      row.forEach((v, j) => (strided[2 + j * stride] = v));
      softmaxStrided(strided, 2, stride, len);
      softmaxInPlace(row, 0, len);
      // Weights are <= 1 and the fast exp is within 1e-12 relative of Math.exp.
      for (let j = 0; j < len; j++) expect(Math.abs(strided[2 + j * stride]! - row[j]!)).toBeLessThan(1e-12);
      for (let i = 0; i < strided.length; i++) if (i < 2 || (i - 2) % stride !== 0) expect(strided[i]).toBe(42);
    }
  });

  it('turns a row of -Infinity into zeros, not NaN', () => {
    const row = Float64Array.from([-Infinity, -Infinity, -Infinity]);
    softmaxStrided(row, 0, 1, 3);
    expect(Array.from(row)).toEqual([0, 0, 0]);
  });

  it('gives -Infinity entries weight 0 and renormalises the rest', () => {
    const row = Float64Array.from([0, -Infinity, 0, -Infinity]);
    softmaxStrided(row, 0, 1, 4);
    expect(Array.from(row)).toEqual([0.5, 0, 0.5, 0]);
  });

  it('stays finite with logits of +-1e4 and +-1e6 and matches the analytic result', () => {
    // Without max subtraction e^(1e4) overflows to Infinity and the row becomes NaN.
    for (const big of [1e4, 1e6]) {
      const row = Float64Array.from([big, big - Math.log(3), -big]);
      softmaxStrided(row, 0, 1, 3);
      expect(row.every(Number.isFinite)).toBe(true);
      // 1e-9: the shifted logit big - ln 3 keeps ln 3 only to ~big * 2^-53 (1e-10 at 1e6).
      expect(Math.abs(row[0]! - 0.75)).toBeLessThan(1e-9);
      expect(Math.abs(row[1]! - 0.25)).toBeLessThan(1e-9);
      expect(row[2]).toBe(0);
    }
  });

  it('sums to 1 on a long row of large random logits (x1e4)', () => {
    const rand = seededRandom(3);
    const row = Float64Array.from({ length: 1024 }, () => (rand() * 2 - 1) * 1e4);
    softmaxStrided(row, 0, 1, row.length);
    expect(row.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
    expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
  });

  it('leaves an empty row alone', () => {
    const row = Float64Array.from([7]);
    softmaxStrided(row, 0, 1, 0);
    expect(row[0]).toBe(7);
  });
});
