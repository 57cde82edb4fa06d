/** `2^-n` for `n = 0 .. 1023` (all normal doubles). */
const POW2_NEG = /* @__PURE__ */ (() => {
  const t = new Float64Array(1024);
  let v = 1;
  for (let n = 0; n < t.length; n++, v /= 2) t[n] = v;
  return t;
})();

// ln 2 split so that n * LN2_HI is exact for every n used here (fdlibm's constants).
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;

/**
 * `e^x` for `x <= 0` (and `-Infinity`), the only range a max-subtracted softmax needs. Relative error
 * below 1e-12 (degree-10 Taylor on `|r| <= ln2 / 2`), about twice as fast as `Math.exp` on V8, which
 * matters because a causal T = 1024 layer takes ~6 million of them. `expNonPositive(0) === 1` exactly.
 */
export function expNonPositive(x: number): number {
  // Below -708 e^x is subnormal (or 0, or x is -Infinity): rare, so hand it to Math.exp, which rounds
  // subnormals correctly. The negated test also sends NaN there.
  if (!(x >= -708)) return Math.exp(x);
  // x = -n ln2 + r with n = round(-x / ln2) >= 0, so e^x = 2^-n e^r.
  const n = (0.5 - x * Math.LOG2E) | 0;
  const r = x + n * LN2_HI + n * LN2_LO;
  const p =
    1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r / 3628800)))))))));
  return p * POW2_NEG[n]!;
}

/**
 * In-place softmax of `s[off + j*stride]` for `j < len`, in float64: subtracts the row max (so logits of
 * any magnitude stay finite), gives `-Infinity` entries weight 0, and turns a row with no finite entry
 * (every key masked) into zeros instead of NaN. `stride` lets it run over one row of a scores tile
 * stored key-major.
 */
export function softmaxStrided(s: Float64Array, off: number, stride: number, len: number): void {
  const end = off + len * stride;
  let max = -Infinity;
  for (let i = off; i < end; i += stride) if (s[i]! > max) max = s[i]!;
  if (max === -Infinity) {
    for (let i = off; i < end; i += stride) s[i] = 0;
    return;
  }
  let sum = 0;
  for (let i = off; i < end; i += stride) {
    const e = expNonPositive(s[i]! - max);
    s[i] = e;
    sum += e;
  }
  // sum >= 1: the max entry contributes exactly e^0 = 1.
  const inv = 1 / sum;
  for (let i = off; i < end; i += stride) s[i]! *= inv;
}
