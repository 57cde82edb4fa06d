import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { isMhaError } from './errors.js';
import { initWeights } from './init.js';

describe('initWeights', () => {
  it('takes a plain config as well as a resolved one, with the same numbers', () => {
    for (const plain of [{ dIn: 8, heads: 2, headDim: 4 }, { dIn: 6, heads: 4, headDim: 2, kvHeads: 2, kdim: 5, vdim: 3, outProjBias: false }]) {
      const a = initWeights(plain, 7);
      const b = initWeights(resolveConfig(plain), 7);
      expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
      for (const k of Object.keys(b) as (keyof typeof b)[]) {
        expect(a[k]!.length, k).toBeGreaterThan(0);
        expect(Array.from(a[k]!), k).toEqual(Array.from(b[k]!));
      }
    }
  });

  it('refuses an invalid plain config with the field, instead of giving empty weights', () => {
    try {
      initWeights({ dIn: 8, heads: 3, dOut: 8 }, 1);
      expect.unreachable();
    } catch (e) {
      expect(isMhaError(e) && [e.code, e.field]).toEqual(['MHA_HEADS_NOT_DIVISIBLE', 'config.dOut']);
    }
  });
});
