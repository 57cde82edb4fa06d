/**
 * In-place softmax of `row[start .. start+len)` in float64, max-subtracted so large logits
 * cannot overflow. `-Infinity` entries get weight 0; a row with no finite entry (every key
 * masked) becomes all zeros rather than NaN (the ONNX fully-masked-row rule).
 */
export function softmaxInPlace(row: Float64Array, start: number, len: number): void {
  let max = -Infinity;
  for (let j = start; j < start + len; j++) if (row[j]! > max) max = row[j]!;
  if (max === -Infinity) {
    row.fill(0, start, start + len);
    return;
  }
  let sum = 0;
  for (let j = start; j < start + len; j++) {
    const e = Math.exp(row[j]! - max);
    row[j] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let j = start; j < start + len; j++) row[j]! *= inv;
}
