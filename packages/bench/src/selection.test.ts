import { describe, expect, it } from 'vitest';
import { DECODE_CELLS } from './decode-cells.js';
import { selectShapes } from './selection.js';
import { SHAPES } from './shapes.js';

describe('selectShapes (--shapes, --skip-decode)', () => {
  it('runs every shape, then every decode cell, by default', () => {
    const s = selectShapes([], false);
    expect(s.shapes.map((x) => x.name)).toEqual(SHAPES.map((x) => x.name));
    expect(s.decode.map((x) => x.name)).toEqual(['decode-step', 'decode-gen']);
    expect(selectShapes([], true).decode).toEqual([]);
  });

  it('takes both kinds of name, comma-separated or repeated, once each', () => {
    const s = selectShapes(['book,decode-gen', 'small', 'book'], false);
    expect(s.shapes.map((x) => x.name)).toEqual(['book', 'small']);
    expect(s.decode.map((x) => x.name)).toEqual(['decode-gen']);
    expect(selectShapes(['decode-step'], false).shapes).toEqual([]);
  });

  it('rejects an unknown name, listing the shapes and the decode cells', () => {
    expect(() => selectShapes(['nope'], false)).toThrow(`unknown shape 'nope'; shapes: ${SHAPES.map((x) => x.name).join(', ')}; decode cells: ${DECODE_CELLS.map((c) => c.name).join(', ')}`);
  });
});
