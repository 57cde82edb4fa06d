import { describe, expect, it } from 'vitest';
import { configToJSON, resolveConfig } from './config.js';
import { MhaErrorCode } from './errors.js';
import { errorOf } from './test-helpers.js';

function codeOf(fn: () => unknown): { code: string; field: string } {
  const { code, field } = errorOf(fn);
  return { code, field };
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

describe('resolveConfig round-trips (issue 12 item 5)', () => {
  const resolved = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true });
  it('a scale spread over a resolved config is kept, not replaced by the default', () => {
    const c = resolveConfig({ ...resolved, scale: 0.125 });
    expect(c.scale).toBe(0.125);
    expect(c.defaultScale).toBe(false);
    expect(configToJSON(c).scale).toBe(0.125);
  });
  it('a bad scale spread over a resolved config is rejected', () => {
    expect(errorOf(() => resolveConfig({ ...resolved, scale: 'bogus' as never }))).toEqual({ code: MhaErrorCode.InvalidConfig, field: 'config.scale', value: 'bogus' });
    expect(errorOf(() => resolveConfig({ ...resolved, scale: Number.NaN }))).toMatchObject({ code: MhaErrorCode.InvalidConfig, field: 'config.scale' });
  });
  it('spread copies and JSON round-trip equal the original; scale: null returns to the default', () => {
    expect(resolveConfig({ ...resolved })).toEqual(resolved);
    expect(resolveConfig(configToJSON(resolved))).toEqual(resolved);
    const explicit = resolveConfig({ ...resolved, scale: 0.3 });
    expect(resolveConfig({ ...explicit })).toEqual(explicit);
    expect(resolveConfig(configToJSON(explicit))).toEqual(explicit);
    expect(resolveConfig({ ...explicit, scale: null })).toEqual(resolved);
  });
  it('a non-boolean defaultScale is a type error', () => {
    expect(errorOf(() => resolveConfig({ ...resolved, defaultScale: 'yes' } as never))).toEqual({ code: MhaErrorCode.InvalidType, field: 'config.defaultScale', value: 'yes' });
  });
});

describe('config scale lies within the float32 range (decision 2)', () => {
  it.each([3.5e38, -3.5e38, 1e300, -Number.MAX_VALUE])('rejects scale %d with MHA_INVALID_CONFIG', (scale) => {
    expect(errorOf(() => resolveConfig({ dIn: 4, heads: 2, headDim: 2, scale }))).toEqual({ code: MhaErrorCode.InvalidConfig, field: 'config.scale', value: scale });
  });
  it.each([0, -0, -1, 1e-45, 1e-300, 3.4028234663852886e38, -3.4028234663852886e38])('accepts scale %d as given', (scale) => {
    expect(Object.is(resolveConfig({ dIn: 4, heads: 2, headDim: 2, scale }).scale, scale)).toBe(true);
  });
});

describe('the resolved config is frozen and read from own properties only (items 6, 9)', () => {
  it('is frozen: assigning a field throws and changes nothing', () => {
    const c = resolveConfig({ dIn: 4, heads: 2, headDim: 2 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { dIn: number }).dIn = 5;
    }).toThrow(TypeError);
    expect(c.dIn).toBe(4);
  });
  it('ignores fields inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.causal = true;
    proto.scale = 'bogus';
    proto.qkvBias = true;
    try {
      const c = resolveConfig({ dIn: 4, heads: 2, headDim: 2 });
      expect(c).toMatchObject({ causal: false, qkvBias: false, scale: 1 / Math.sqrt(2), defaultScale: true });
    } finally {
      delete proto.causal;
      delete proto.scale;
      delete proto.qkvBias;
    }
  });
  it('ignores fields inherited from the config object prototype (a class instance)', () => {
    const cfg = Object.assign(Object.create({ causal: true, scale: 2, dOut: 99 }) as object, { dIn: 4, heads: 2, headDim: 2 });
    expect(resolveConfig(cfg as never)).toMatchObject({ causal: false, scale: 1 / Math.sqrt(2), dOut: 4 });
  });
  it('reads each field once (a getter cannot pass the check and then change)', () => {
    let reads = 0;
    const cfg = {
      heads: 2,
      headDim: 2,
      get dIn() {
        reads++;
        return reads === 1 ? 4 : -1;
      },
    };
    expect(resolveConfig(cfg).dIn).toBe(4);
    expect(reads).toBe(1);
  });
});
