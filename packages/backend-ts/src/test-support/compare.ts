// Test-only: element-wise comparison with the worst offender in the failure message.
import { expect } from 'vitest';

/** `|a - e| <= atol + rtol * |e|` per element. */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/**
 * The project's float32 tolerance (conformance FLOAT32_TOLERANCE, SPEC.md "Numeric tolerance"), used
 * against the PyTorch golden fixtures: torch computes in float32, so its own rounding is in the oracle.
 */
export const FIXTURE_TOLERANCE: Tolerance = { atol: 1e-5, rtol: 1e-4 };

/**
 * Against core's float64 reference. This backend computes in float64 end to end (float64 panels,
 * double accumulators) and rounds to float32 only when it stores a result, which moves a value by at
 * most 2^-24 of itself. rtol = 2^-23 allows that rounding twice over; atol = 1e-10 covers float64
 * summation-order noise on values that cancel to near zero (terms are O(1) here, so that noise is
 * ~1e-15). A kernel that rounded an intermediate to float32 would miss this by orders of magnitude.
 */
export const REFERENCE_TOLERANCE: Tolerance = { atol: 1e-10, rtol: 2 ** -23 };

/** The tolerance with its absolute part scaled by `max(1, magnitude)` (for inputs scaled x1e3 and up). */
export function scaledTolerance(t: Tolerance, magnitude: number): Tolerance {
  return { atol: t.atol * Math.max(1, magnitude), rtol: t.rtol };
}

/** Largest `|x|` in `a`. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Fails naming the worst element unless every `actual[i]` is within `tol` of `expected[i]`. */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label = 'values'): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (|diff| ${Math.abs(actual[worst]! - expected[worst]!)} > atol ${tol.atol} + rtol ${tol.rtol} * |e|)`);
  }
}
