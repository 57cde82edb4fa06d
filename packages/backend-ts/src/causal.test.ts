import { causalVisibleKeys } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { rowKeyExtent, tileKeyExtent } from './causal.js';

describe('causal extents', () => {
  it("follow core's causalVisibleKeys exactly (the spec's top-left alignment)", () => {
    for (let tk = 0; tk <= 12; tk++)
      for (let i = 0; i <= 14; i++) {
        expect(rowKeyExtent(i, tk, true)).toBe(causalVisibleKeys(i, tk));
        expect(rowKeyExtent(i, tk, false)).toBe(tk);
      }
  });
  it('a tile needs the extent of its last row', () => {
    expect(tileKeyExtent(8, 8, 100, true)).toBe(16);
    expect(tileKeyExtent(8, 8, 10, true)).toBe(10);
  });
});
