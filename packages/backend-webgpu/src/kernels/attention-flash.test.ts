import { describe, expect, it } from 'vitest';
import { ATTENTION_PARAMS, attentionBindings, attentionFlashWgsl, attentionGrid, attentionVariantKey, type AttentionVariant } from './attention-flash.js';
import { attentionFlashTiledWgsl, kvTileRows, padHeadDim, tiledBindings, tiledBlocks, tiledVariant, tiledVariantKey, type TiledVariant } from './attention-flash-tiled.js';
import { MATMUL_BINDINGS, matmulGrid, matmulTiledWgsl } from './matmul-tiled.js';

const VARIANTS: AttentionVariant[] = (['none', 'bool', 'additive'] as const).flatMap((mask) =>
  [false, true].flatMap((softcap) => [false, true].map((weights) => ({ mask, softcap, weights }))),
);

/** `[binding, name]` pairs declared in a WGSL source. */
function declared(source: string): [number, string][] {
  return [...source.matchAll(/@binding\((\d+)\) var<[^>]+> (\w+):/g)].map((m) => [Number(m[1]), m[2]!]);
}

describe('attention-flash WGSL', () => {
  it('every variant has its own key and source', () => {
    expect(new Set(VARIANTS.map(attentionVariantKey)).size).toBe(VARIANTS.length);
    expect(new Set(VARIANTS.map(attentionFlashWgsl)).size).toBe(VARIANTS.length);
  });

  it('declares exactly the bindings the encoder binds, in order', () => {
    for (const v of VARIANTS) expect(declared(attentionFlashWgsl(v))).toEqual(attentionBindings(v).map((n, i) => [i, n]));
    expect(declared(matmulTiledWgsl())).toEqual(MATMUL_BINDINGS.map((n, i) => [i, n]));
  });

  it('without weights there is no [Tq, Tk] buffer: the flash path binds q, k, v, out (and the mask) only', () => {
    for (const v of VARIANTS.filter((x) => !x.weights)) expect(attentionFlashWgsl(v)).not.toMatch(/\bweights\b/);
  });

  it('the uniform struct lists every field in packing order, padded to 16 bytes', () => {
    const src = attentionFlashWgsl(VARIANTS[0]!);
    const body = /struct Params \{([^}]*)\}/.exec(src)![1]!;
    const names = [...body.matchAll(/(\w+): (u32|f32)/g)].map((m) => m[1]);
    expect(names.slice(0, ATTENTION_PARAMS.fields.length)).toEqual(ATTENTION_PARAMS.fields.map(([k]) => k));
    expect(names.length * 4).toBe(ATTENTION_PARAMS.byteSize);
    expect(ATTENTION_PARAMS.byteSize % 16).toBe(0);
  });

  it('soft-capping and -Infinity recognition are compiled only into the variants that need them', () => {
    expect(attentionFlashWgsl({ mask: 'none', softcap: true, weights: false })).toContain('tanh_f32');
    expect(attentionFlashWgsl({ mask: 'none', softcap: false, weights: false })).not.toContain('tanh_f32');
    expect(attentionFlashWgsl({ mask: 'additive', softcap: false, weights: false })).toContain('NEG_INF_BITS) { return');
    expect(attentionFlashWgsl({ mask: 'bool', softcap: false, weights: false })).not.toContain('bitcast<f32>(bits)');
  });
});

describe('attention-flash-tiled WGSL', () => {
  const TILED: TiledVariant[] = VARIANTS.filter((v) => !v.weights).flatMap((v) => [16, 32, 64, 128].map((d) => ({ mask: v.mask, softcap: v.softcap, dk: d, dv: d === 64 ? 16 : d })));

  it('applies without weights and with both head sizes <= 128, padded to 16, 32, 64 or 128', () => {
    const v = { mask: 'bool', softcap: true, weights: false } as const;
    expect(tiledVariant(v, 1, 33)).toEqual({ mask: 'bool', softcap: true, dk: 16, dv: 64 });
    expect(tiledVariant(v, 64, 64)).toEqual({ mask: 'bool', softcap: true, dk: 64, dv: 64 });
    expect(tiledVariant(v, 65, 8)).toEqual({ mask: 'bool', softcap: true, dk: 128, dv: 16 });
    expect(tiledVariant(v, 129, 8)).toBeUndefined();
    expect(tiledVariant(v, 8, 129)).toBeUndefined();
    expect(tiledVariant({ ...v, weights: true }, 8, 8)).toBeUndefined();
    expect([0, 1, 16, 17, 32, 33, 64, 65, 128, 129].map(padHeadDim)).toEqual([16, 16, 16, 32, 32, 64, 64, 128, 128, undefined]);
  });

  it('every variant has its own key and source, and declares exactly the bindings the encoder binds', () => {
    expect(new Set(TILED.map(tiledVariantKey)).size).toBe(TILED.length);
    expect(new Set(TILED.map(attentionFlashTiledWgsl)).size).toBe(TILED.length);
    for (const v of TILED) expect(declared(attentionFlashTiledWgsl(v))).toEqual(tiledBindings(v).map((n, i) => [i, n]));
  });

  it('compiles the padded head sizes in, and keeps K/V tiles within 8 KiB of workgroup memory', () => {
    const src = attentionFlashTiledWgsl({ mask: 'none', softcap: false, dk: 64, dv: 32 });
    expect(src).toContain('const DK: u32 = 64u;');
    expect(src).toContain('const DV: u32 = 32u;');
    const tiles = [...src.matchAll(/var<workgroup> \w+: array<array<f32, (DK|DV)>, BLOCK_KV>/g)];
    expect(tiles.length).toBe(2);
    for (const dk of [16, 32, 64, 128]) {
      for (const dv of [16, 32, 64, 128]) {
        const rows = kvTileRows(dk, dv);
        expect(attentionFlashTiledWgsl({ mask: 'none', softcap: false, dk, dv })).toContain(`const BLOCK_KV: u32 = ${rows}u;`);
        expect(rows * (dk + dv) * 4).toBeLessThanOrEqual(8192);
      }
    }
  });

  it('one workgroup per (b, h, 32-row query block)', () => {
    expect(tiledBlocks(2 * 3 * 40, 40)).toBe(12);
    expect(tiledBlocks(5, 1)).toBe(5);
    expect(tiledBlocks(64, 32)).toBe(2);
  });
});

describe('uniform packing', () => {
  const values = Object.fromEntries(ATTENTION_PARAMS.fields.map(([k], i) => [k, i + 1])) as Parameters<typeof ATTENTION_PARAMS.pack>[0];
  it('writes u32 fields as integers and f32 fields as floats at 4-byte offsets', () => {
    const buf = ATTENTION_PARAMS.pack({ ...values, scale: 0.125, softcap: -0 });
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    ATTENTION_PARAMS.fields.forEach(([k, t], i) => {
      if (t === 'u32') expect(u[i]).toBe(values[k]);
    });
    expect(f[ATTENTION_PARAMS.fields.findIndex(([k]) => k === 'scale')]).toBe(0.125);
  });
  it('refuses a size that would wrap', () => {
    expect(() => ATTENTION_PARAMS.pack({ ...values, tk: -1 })).toThrow(RangeError);
    expect(() => ATTENTION_PARAMS.pack({ ...values, tk: 2 ** 32 })).toThrow(RangeError);
    expect(() => ATTENTION_PARAMS.pack({ ...values, tk: 1.5 })).toThrow(RangeError);
  });
});

describe('grids', () => {
  it('fold rows over two dimensions and refuse what cannot fit', () => {
    expect(attentionGrid(1)).toEqual([1, 1]);
    expect(attentionGrid(65535)).toEqual([65535, 1]);
    expect(attentionGrid(65536)).toEqual([65535, 2]);
    expect(attentionGrid(10, 4)).toEqual([4, 3]);
    expect(attentionGrid(17, 4)).toBeUndefined();
  });
  it('matmul: one workgroup per 16 x 16 tile of the output', () => {
    expect(matmulGrid(1, 1)).toEqual([1, 1]);
    expect(matmulGrid(16, 17)).toEqual([2, 1]);
    expect(matmulGrid(33, 16)).toEqual([1, 3]);
  });
});
