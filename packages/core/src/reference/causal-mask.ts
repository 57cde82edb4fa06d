/**
 * Number of keys query `i` may see under a causal mask: keys `0 .. i + offset`, clipped to `[0, tk]`.
 * `offset` is 0 for self-attention and for top-left aligned cross-attention (the spec's default);
 * a KV cache of length P would use `offset = P` (bottom-right alignment).
 */
export function causalVisibleKeys(i: number, tk: number, offset = 0): number {
  return Math.max(0, Math.min(tk, i + offset + 1));
}
