import { describe, expect, it } from 'vitest';
import { isMhaError } from './errors.js';
import { checkFinite } from './validate.js';

function fieldOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isMhaError(e, 'MHA_NON_FINITE')) return e.field;
    throw e;
  }
  return undefined;
}

describe('checkFinite', () => {
  it('accepts every finite float32, including -0, subnormals and the largest value', () => {
    expect(fieldOf(() => checkFinite(Float32Array.from([0, -0, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1]), 'x'))).toBeUndefined();
  });
  it.each([Number.NaN, Infinity, -Infinity])('names the first %s element, also inside a subarray view', (bad) => {
    const host = new Float32Array(10);
    host[7] = bad;
    expect(fieldOf(() => checkFinite(host, 'x.data'))).toBe('x.data[7]');
    expect(fieldOf(() => checkFinite(host.subarray(3), 'x.data'))).toBe('x.data[4]');
  });
});
