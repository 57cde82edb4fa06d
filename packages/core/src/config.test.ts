import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { isMhaError, MhaErrorCode } from './errors.js';

function codeOf(fn: () => unknown): { code: string; field: string } {
  try {
    fn();
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('did not throw');
}

describe('resolveConfig', () => {
  it('fills defaults and derives headDim from dOut (the book: d_out=2, 2 heads)', () => {
    const c = resolveConfig({ dIn: 3, dOut: 2, heads: 2 });
    expect(c).toMatchObject({ dIn: 3, heads: 2, headDim: 1, dOut: 2, causal: false, qkvBias: false, outProj: true, outProjBias: true, defaultScale: true });
    expect(c.scale).toBe(1);
  });
  it('derives dOut from headDim and keeps an explicit scale', () => {
    const c = resolveConfig({ dIn: 5, heads: 3, headDim: 4, scale: 0.25, outProj: false });
    expect(c.dOut).toBe(12);
    expect(c.scale).toBe(0.25);
    expect(c.outProjBias).toBe(false);
    expect(resolveConfig(c)).toEqual(c);
  });
  it('is idempotent for default scale too', () => {
    const c = resolveConfig({ dIn: 8, heads: 2, headDim: 4 });
    expect(resolveConfig(c)).toEqual(c);
    expect(c.scale).toBe(0.5);
  });
  it.each([
    [{ dIn: 4, dOut: 6, heads: 4 }, MhaErrorCode.HeadsNotDivisible, 'config.dOut'],
    [{ dIn: 4, heads: 2.5, headDim: 2 }, MhaErrorCode.InvalidConfig, 'config.heads'],
    [{ dIn: 0, heads: 2, headDim: 2 }, MhaErrorCode.InvalidConfig, 'config.dIn'],
    [{ dIn: 4, heads: 2, headDim: -1 }, MhaErrorCode.InvalidConfig, 'config.headDim'],
    [{ dIn: Number.NaN, heads: 2, headDim: 2 }, MhaErrorCode.InvalidConfig, 'config.dIn'],
    [{ dIn: 4, heads: 2 }, MhaErrorCode.InvalidConfig, 'config.headDim'],
    [{ dIn: 4, heads: 2, headDim: 2, dOut: 5 }, MhaErrorCode.DimMismatch, 'config.dOut'],
    [{ dIn: 4, heads: 2, headDim: 2, causal: 'yes' }, MhaErrorCode.InvalidType, 'config.causal'],
    [{ dIn: 4, heads: 2, headDim: 2, scale: Number.NaN }, MhaErrorCode.InvalidConfig, 'config.scale'],
    [{ dIn: 4, heads: 2, headDim: 2, outProj: false, outProjBias: true }, MhaErrorCode.InvalidConfig, 'config.outProjBias'],
    [{ dIn: 4, heads: 2, headDim: 2, nHeads: 2 }, MhaErrorCode.InvalidConfig, 'config.nHeads'],
    [{ dIn: 100_000, heads: 1000, headDim: 1000 }, MhaErrorCode.InvalidConfig, 'config.dOut'],
  ])('rejects %j with %s naming %s', (cfg, code, field) => {
    expect(codeOf(() => resolveConfig(cfg as never))).toEqual({ code, field });
  });
  it('error messages name the field and the value', () => {
    expect(() => resolveConfig({ dIn: 4, dOut: 6, heads: 4 })).toThrow(/MHA_HEADS_NOT_DIVISIBLE: config.dOut = 6: heads = 4 does not divide dOut/);
  });
});
