/** `y[r, o] = sum_i x[r, i] * w[i, o] + b[o]` in float64, with `w` in the canonical `[in, out]` layout. */
export function linear64(
  x: ArrayLike<number>,
  rows: number,
  inDim: number,
  w: ArrayLike<number>,
  outDim: number,
  b?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const yo = r * outDim;
    if (b) for (let o = 0; o < outDim; o++) y[yo + o] = b[o]!;
    for (let i = 0; i < inDim; i++) {
      const xi = x[r * inDim + i]!;
      const wo = i * outDim;
      for (let o = 0; o < outDim; o++) y[yo + o]! += xi * w[wo + o]!;
    }
  }
  return y;
}
