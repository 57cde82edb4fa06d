import { causalVisibleKeys } from '@mha/core';

/**
 * Keys that query row `i` may see: all `tk` without causal masking, else `0..i` (top-left aligned,
 * clipped to `tk`). Delegates to core so the alignment rule lives in one place.
 */
export function rowKeyExtent(i: number, tk: number, causal: boolean): number {
  return causal ? causalVisibleKeys(i, tk) : tk;
}

/**
 * Keys a tile of query rows `i0 .. i0 + rows - 1` needs: the extent of its last row. Under causal
 * masking every key panel past it is skipped outright, so only the scores on or below the diagonal
 * are computed (up to the 8 x 8 register tile that straddles the diagonal, whose upper part is
 * discarded before the softmax).
 */
export function tileKeyExtent(i0: number, rows: number, tk: number, causal: boolean): number {
  return rowKeyExtent(i0 + rows - 1, tk, causal);
}
