/**
 * Keys that query row `i` may see: all `tk` without causal masking, else `0..i` (top-left aligned,
 * clipped to `tk`), the rule of core's `causalVisibleKeys` (a test pins the two together). Written out
 * here because this module runs inside Web Workers, where an import map does not reach and a bare
 * `@mha/core` specifier would fail to load without a bundler.
 */
export function rowKeyExtent(i: number, tk: number, causal: boolean): number {
  return causal ? Math.max(0, Math.min(tk, i + 1)) : tk;
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
