// Definitions shared by the attention kernels.

/** Mask kinds of the `maskKind` argument. */
export const MASK_NONE: i32 = 0;
export const MASK_BOOL: i32 = 1;
export const MASK_ADDITIVE: i32 = 2;

/** `n` rounded up to a multiple of `to`. */
@inline
export function roundUp(n: i32, to: i32): i32 {
  return ((n + to - 1) / to) * to;
}
