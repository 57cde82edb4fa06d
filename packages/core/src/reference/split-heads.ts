/**
 * `[B, T, H*dh]` (head-major columns) -> `[B, H, T, dh]`: the `view(B,T,H,dh).transpose(1,2)` of the PyTorch modules this project reproduces.
 */
export function splitHeads(x: Float64Array, batch: number, tokens: number, heads: number, headDim: number): Float64Array {
  const out = new Float64Array(x.length);
  const width = heads * headDim;
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < tokens; t++)
      for (let h = 0; h < heads; h++)
        for (let d = 0; d < headDim; d++)
          out[((b * heads + h) * tokens + t) * headDim + d] = x[(b * tokens + t) * width + h * headDim + d]!;
  return out;
}

/** `[B, H, T, dh]` -> `[B, T, H*dh]`: the inverse of {@link splitHeads} (concatenating heads). */
export function mergeHeads(x: Float64Array, batch: number, tokens: number, heads: number, headDim: number): Float64Array {
  const out = new Float64Array(x.length);
  const width = heads * headDim;
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < tokens; t++)
        for (let d = 0; d < headDim; d++)
          out[(b * tokens + t) * width + h * headDim + d] = x[((b * heads + h) * tokens + t) * headDim + d]!;
  return out;
}
