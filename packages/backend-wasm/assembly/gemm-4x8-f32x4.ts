// GEMM `C[m, n] = A[m, k] @ B[k, n] (+ bias)` in float32 with f32x4 SIMD, the projections' and the
// attention's one arithmetic core. B is packed once into panels of NR columns; the micro-kernel keeps an
// MR x NR block of C in 8 vector accumulators and, per step of k, splats one A value per row against the
// two vectors of a B panel row (XNNPACK's "splat" strategy).
import { madd } from './simd';

/** Rows of C per micro-kernel call. */
export const MR: i32 = 4;
/** Columns of a packed B panel (two f32x4 vectors). */
export const NR: i32 = 8;
/**
 * Rows of A swept across one B panel before moving to the next: 128 rows of a 768-wide A are 384 KiB,
 * which stays in L2 while each 24 KiB panel stays in L1.
 */
const MC: i32 = 128;

/** Floats a packed `[k, n]` B operand occupies: `ceil(n / NR)` panels of `k * NR`. */
export function packedSize(k: i32, n: i32): i32 {
  return ((n + NR - 1) / NR) * k * NR;
}

/**
 * Packs `B[k, n]` (row stride `ldb` floats) into column panels: panel `p` holds, for each `kk`, the
 * NR values `B[kk, p*NR .. p*NR + NR)`, zero-padded past `n`.
 */
export function packB(k: i32, n: i32, b: usize, ldb: i32, dst: usize): void {
  const panels = (n + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    const c0 = p * NR;
    const cols = min(NR, n - c0);
    let out = dst + <usize>(p * k * NR) * 4;
    for (let kk = 0; kk < k; kk++) {
      const row = b + (<usize>kk * <usize>ldb + <usize>c0) * 4;
      if (cols == NR) {
        v128.store(out, v128.load(row));
        v128.store(out, v128.load(row, 16), 16);
      } else {
        for (let c = 0; c < NR; c++) store<f32>(out + <usize>c * 4, c < cols ? load<f32>(row + <usize>c * 4) : 0);
      }
      out += NR * 4;
    }
  }
}

/**
 * Packs `Bt[n, k]` transposed, i.e. `B = Bt^T` (row stride `ldbt`): the keys of attention, so that
 * `q @ k^T` runs through the same micro-kernel.
 */
export function packBTransposed(k: i32, n: i32, bt: usize, ldbt: i32, dst: usize): void {
  const panels = (n + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    const c0 = p * NR;
    const cols = min(NR, n - c0);
    const out = dst + <usize>(p * k * NR) * 4;
    for (let c = 0; c < NR; c++) {
      if (c < cols) {
        const src = bt + <usize>(c0 + c) * <usize>ldbt * 4;
        for (let kk = 0; kk < k; kk++) store<f32>(out + (<usize>(kk * NR + c)) * 4, load<f32>(src + <usize>kk * 4));
      } else {
        for (let kk = 0; kk < k; kk++) store<f32>(out + (<usize>(kk * NR + c)) * 4, 0);
      }
    }
  }
}

/**
 * The 4x8 micro-kernel: `C[0..rows, 0..cols) = A[0..rows, 0..k) @ panel (+ bias[0..8))`, rows <= 4,
 * cols <= 8. Rows past `rows` alias the last real row (computed, never stored), so short tiles need no
 * separate kernel. Strides are in bytes.
 */
@inline
export function gemm4x8(k: i32, a: usize, lda: usize, panel: usize, bias: usize, c: usize, ldc: usize, rows: i32, cols: i32): void {
  const a0 = a;
  const a1 = rows > 1 ? a0 + lda : a0;
  const a2 = rows > 2 ? a1 + lda : a1;
  const a3 = rows > 3 ? a2 + lda : a2;
  let c00 = f32x4.splat(0);
  let c01 = c00;
  if (bias != 0) {
    c00 = v128.load(bias);
    c01 = v128.load(bias, 16);
  }
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  let b = panel;
  const end = <usize>k * 4;
  for (let off: usize = 0; off < end; off += 4) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    b += NR * 4;
    const x0 = v128.load32_splat(a0 + off);
    const x1 = v128.load32_splat(a1 + off);
    const x2 = v128.load32_splat(a2 + off);
    const x3 = v128.load32_splat(a3 + off);
    c00 = madd(x0, b0, c00);
    c01 = madd(x0, b1, c01);
    c10 = madd(x1, b0, c10);
    c11 = madd(x1, b1, c11);
    c20 = madd(x2, b0, c20);
    c21 = madd(x2, b1, c21);
    c30 = madd(x3, b0, c30);
    c31 = madd(x3, b1, c31);
  }
  storeRow(c, c00, c01, cols);
  if (rows > 1) storeRow(c + ldc, c10, c11, cols);
  if (rows > 2) storeRow(c + 2 * ldc, c20, c21, cols);
  if (rows > 3) storeRow(c + 3 * ldc, c30, c31, cols);
}

/**
 * The accumulating 4x8 micro-kernel of online softmax:
 * `C[r, 0..8) = alpha_r * C[r, 0..8) + A[r, 0..k) @ panel` for r < rows, C a full 8-wide panel (stride
 * `ldc` bytes). The rescale of the running output by `alpha_r = e^(m_old - m_new)` costs one multiply per
 * accumulator, folded into the load. Rows past `rows` alias the last real row, as in {@link gemm4x8}.
 */
@inline
export function gemm4x8Rescale(k: i32, a: usize, lda: usize, panel: usize, c: usize, ldc: usize, rows: i32, alpha: v128): void {
  const a0 = a;
  const a1 = rows > 1 ? a0 + lda : a0;
  const a2 = rows > 2 ? a1 + lda : a1;
  const a3 = rows > 3 ? a2 + lda : a2;
  const c0 = c;
  const c1 = rows > 1 ? c0 + ldc : c0;
  const c2 = rows > 2 ? c1 + ldc : c1;
  const c3 = rows > 3 ? c2 + ldc : c2;
  const s0 = f32x4.splat(f32x4.extract_lane(alpha, 0));
  const s1 = f32x4.splat(f32x4.extract_lane(alpha, 1));
  const s2 = f32x4.splat(f32x4.extract_lane(alpha, 2));
  const s3 = f32x4.splat(f32x4.extract_lane(alpha, 3));
  let c00 = f32x4.mul(v128.load(c0), s0);
  let c01 = f32x4.mul(v128.load(c0, 16), s0);
  let c10 = f32x4.mul(v128.load(c1), s1);
  let c11 = f32x4.mul(v128.load(c1, 16), s1);
  let c20 = f32x4.mul(v128.load(c2), s2);
  let c21 = f32x4.mul(v128.load(c2, 16), s2);
  let c30 = f32x4.mul(v128.load(c3), s3);
  let c31 = f32x4.mul(v128.load(c3, 16), s3);
  let b = panel;
  const end = <usize>k * 4;
  for (let off: usize = 0; off < end; off += 4) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    b += NR * 4;
    const x0 = v128.load32_splat(a0 + off);
    const x1 = v128.load32_splat(a1 + off);
    const x2 = v128.load32_splat(a2 + off);
    const x3 = v128.load32_splat(a3 + off);
    c00 = madd(x0, b0, c00);
    c01 = madd(x0, b1, c01);
    c10 = madd(x1, b0, c10);
    c11 = madd(x1, b1, c11);
    c20 = madd(x2, b0, c20);
    c21 = madd(x2, b1, c21);
    c30 = madd(x3, b0, c30);
    c31 = madd(x3, b1, c31);
  }
  v128.store(c0, c00);
  v128.store(c0, c01, 16);
  if (rows > 1) {
    v128.store(c1, c10);
    v128.store(c1, c11, 16);
  }
  if (rows > 2) {
    v128.store(c2, c20);
    v128.store(c2, c21, 16);
  }
  if (rows > 3) {
    v128.store(c3, c30);
    v128.store(c3, c31, 16);
  }
}

@inline
function storeRow(c: usize, lo: v128, hi: v128, cols: i32): void {
  if (cols == NR) {
    v128.store(c, lo);
    v128.store(c, hi, 16);
  } else {
    // A partial panel: lane by lane (no static buffer, so threads sharing the memory never collide).
    storeLanes(c, lo, cols);
    if (cols > 4) storeLanes(c + 16, hi, cols - 4);
  }
}

@inline
function storeLanes(c: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(c, v);
    return;
  }
  store<f32>(c, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(c, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(c, f32x4.extract_lane(v, 2), 8);
}

/**
 * `C[m, n] = A[m, k] @ B + bias` with B packed by {@link packB} and `bias` (0 for none) padded to
 * whole panels. `lda`/`ldc` are row strides in floats. Every element of C is written, never accumulated
 * into.
 */
export function gemm(m: i32, n: i32, k: i32, a: usize, lda: i32, packed: usize, bias: usize, c: usize, ldc: i32): void {
  const panels = (n + NR - 1) / NR;
  const ldaB = <usize>lda * 4;
  const ldcB = <usize>ldc * 4;
  if (m <= SMALL_PANEL_ROWS) {
    for (let r = 0; r < m; r++) gemmRow(n, k, a + <usize>r * ldaB, packed, bias, c + <usize>r * ldcB);
    return;
  }
  for (let m0 = 0; m0 < m; m0 += MC) {
    const mEnd = min(m, m0 + MC);
    for (let p = 0; p < panels; p++) {
      const cols = min(NR, n - p * NR);
      const panel = packed + <usize>(p * k * NR) * 4;
      const pBias: usize = bias == 0 ? 0 : bias + <usize>(p * NR) * 4;
      for (let r = m0; r < mEnd; r += MR) {
        gemm4x8(k, a + <usize>r * ldaB, ldaB, panel, pBias, c + <usize>r * ldcB + <usize>(p * NR) * 4, ldcB, min(MR, mEnd - r), cols);
      }
    }
  }
}

/**
 * Up to this many rows of A, {@link gemm} multiplies row by row ({@link gemmRow}) instead of through the
 * 4x8 micro-kernel, which would compute its missing rows for nothing (a decode step projects one token).
 */
const SMALL_PANEL_ROWS: i32 = 3;

/**
 * One row `c[0..n) = a[0..k) @ packed + bias`, four panels at a time in eight independent sums. Every
 * element is the micro-kernel's: bias, then one multiply-add per step of k in order, so results are
 * bit-identical to {@link gemm4x8} whatever path a row takes (a threaded split may leave a short range).
 */
function gemmRow(n: i32, k: i32, a: usize, packed: usize, bias: usize, c: usize): void {
  const panels = (n + NR - 1) / NR;
  const panelBytes = <usize>(k * NR) * 4;
  const end = <usize>k * 4;
  let p = 0;
  for (; p + 4 <= panels; p += 4) {
    let c00 = f32x4.splat(0);
    let c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    if (bias != 0) {
      const bp = bias + <usize>(p * NR) * 4;
      c00 = v128.load(bp);
      c01 = v128.load(bp, 16);
      c10 = v128.load(bp, 32);
      c11 = v128.load(bp, 48);
      c20 = v128.load(bp, 64);
      c21 = v128.load(bp, 80);
      c30 = v128.load(bp, 96);
      c31 = v128.load(bp, 112);
    }
    let b0 = packed + <usize>p * panelBytes;
    let b1 = b0 + panelBytes;
    let b2 = b1 + panelBytes;
    let b3 = b2 + panelBytes;
    for (let off: usize = 0; off < end; off += 4) {
      const x = v128.load32_splat(a + off);
      c00 = madd(x, v128.load(b0), c00);
      c01 = madd(x, v128.load(b0, 16), c01);
      c10 = madd(x, v128.load(b1), c10);
      c11 = madd(x, v128.load(b1, 16), c11);
      c20 = madd(x, v128.load(b2), c20);
      c21 = madd(x, v128.load(b2, 16), c21);
      c30 = madd(x, v128.load(b3), c30);
      c31 = madd(x, v128.load(b3, 16), c31);
      b0 += NR * 4;
      b1 += NR * 4;
      b2 += NR * 4;
      b3 += NR * 4;
    }
    const at = c + <usize>(p * NR) * 4;
    storeRow(at, c00, c01, min(NR, n - p * NR));
    storeRow(at + NR * 4, c10, c11, min(NR, n - (p + 1) * NR));
    storeRow(at + 2 * NR * 4, c20, c21, min(NR, n - (p + 2) * NR));
    storeRow(at + 3 * NR * 4, c30, c31, min(NR, n - (p + 3) * NR));
  }
  for (; p < panels; p++) {
    const pBias: usize = bias == 0 ? 0 : bias + <usize>(p * NR) * 4;
    gemm4x8(k, a, 0, packed + <usize>p * panelBytes, pBias, c + <usize>(p * NR) * 4, 0, 1, min(NR, n - p * NR));
  }
}
