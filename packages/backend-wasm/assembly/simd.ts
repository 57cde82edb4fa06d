// Vector helpers shared by the kernels. One source builds two modules: plain SIMD and relaxed SIMD
// (`--enable relaxed-simd`), where ASC_FEATURE_RELAXED_SIMD turns `madd` into a fused multiply-add.

/** `a * b + c` on four f32 lanes: one fused instruction with relaxed SIMD, else a multiply and an add. */
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// Below this e^x is under the smallest normal float32 (1.18e-38); those lanes return 0, an absolute
// error under 1.2e-38 next to the softmax's largest term, 1.
const EXP_LOWEST: f32 = -87.0;
const LOG2E: f32 = 1.44269504;
// ln 2 split so that n * LN2_HI is exact in float32 for |n| <= 127 (Cody and Waite).
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

/**
 * `e^x` on four lanes for `x <= 0`, the only range a max-subtracted softmax needs; `-Infinity` gives 0
 * and `e^0` is exactly 1. `x = n ln2 + r`, `|r| <= ln2 / 2`, degree-7 Taylor polynomial for `e^r`
 * (relative error below 1e-8 before rounding), then `2^n` built in the exponent bits.
 */
@inline
export function exp4(x: v128): v128 {
  const tiny = f32x4.lt(x, f32x4.splat(EXP_LOWEST));
  const xc = f32x4.max(x, f32x4.splat(EXP_LOWEST));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)));
  let r = madd(n, f32x4.splat(-LN2_HI), xc);
  r = madd(n, f32x4.splat(-LN2_LO), r);
  let p = f32x4.splat(<f32>(1.0 / 5040.0));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 720.0)));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 120.0)));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 24.0)));
  p = madd(p, r, f32x4.splat(<f32>(1.0 / 6.0)));
  p = madd(p, r, f32x4.splat(<f32>0.5));
  p = madd(p, r, f32x4.splat(<f32>1.0));
  p = madd(p, r, f32x4.splat(<f32>1.0));
  // n is in [-126, 0] here, so n + 127 is a valid biased exponent.
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, pow2), tiny);
}

/** Sum of the four lanes. */
@inline
export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Largest of the four lanes. */
@inline
export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}
