import { DECODE_CELLS, isDecodeCell, type DecodeCell } from './decode-cells.js';
import { SHAPES, shapeByName, type BenchShape } from './shapes.js';

/**
 * The forward shapes and decode cells to run, from `--shapes` values (comma lists, repeatable): every
 * shape and decode cell when none is named (decode cells left out with `skipDecode`), else the named ones.
 * An unknown name is a usage error listing both kinds.
 */
export function selectShapes(values: readonly string[], skipDecode: boolean): { shapes: BenchShape[]; decode: DecodeCell[] } {
  const names = [...new Set(values.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) return { shapes: [...SHAPES], decode: skipDecode ? [] : [...DECODE_CELLS] };
  const unknown = names.find((n) => !isDecodeCell(n) && !SHAPES.some((s) => s.name === n));
  if (unknown !== undefined) throw new Error(`unknown shape '${unknown}'; shapes: ${SHAPES.map((x) => x.name).join(', ')}; decode cells: ${DECODE_CELLS.map((c) => c.name).join(', ')}`);
  return {
    shapes: names.filter((n) => !isDecodeCell(n)).map(shapeByName),
    decode: skipDecode ? [] : DECODE_CELLS.filter((c) => names.includes(c.name)),
  };
}
