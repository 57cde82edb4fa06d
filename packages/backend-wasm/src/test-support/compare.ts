import { expect } from 'vitest';

/** SPEC.md "Numeric tolerance": `|a - e| <= atol * max(1, M) + rtol * |e|`, M the largest `|e|` (1 for weights). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, scaleByMax = true): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let m = 0;
  if (scaleByMax) for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(expected[i]!));
  const atol = 1e-5 * Math.max(1, m);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + 1e-4 * Math.abs(e))) expect.fail(`${label}: element ${i} is ${a}, the float64 reference gives ${e}`);
  }
}
