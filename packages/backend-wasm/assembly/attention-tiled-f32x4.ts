// Fused attention with an exact two-pass softmax, the path when weights are requested. One tile of MR
// query rows at a time per (batch, query head):
//   S = q_tile @ K^T (scaled) -> softcap -> mask / causal -> row softmax -> out_tile = S @ V.
// The only score storage is the tile's MR x Tk floats, so memory is O(T * d), never O(T^2); under causal
// masking the key panels past a tile's last row are never computed. Both products run through the GEMM
// micro-kernel: keys are packed transposed (K^T panels), values as panels, once per KV head.
import { gemm4x8, MR, NR, packB, packBTransposed } from './gemm-4x8-f32x4';
import { exp4, hmax, hsum } from './simd';
import { MASK_ADDITIVE, MASK_BOOL, MASK_NONE, roundUp } from './attention-common';

/** Bytes of work memory {@link attentionTiled} needs: packed K^T, packed V and one tile of scores. */
export function tiledScratchBytes(tk: i32, dk: i32, dv: i32): i32 {
  return (roundUp(tk, NR) * dk + roundUp(dv, NR) * tk + MR * roundUp(tk, NR)) * 4;
}

/**
 * `attention` (assembly/attention.ts) with the weights: per query tile, the exact two-pass softmax of
 * each row over its MR x Tk scores, written to `weights` when it is not 0, then `out = weights @ V`.
 */
export function attentionTiled(
  batch: i32, qHeads: i32, kvHeads: i32, tq: i32, tk: i32, dk: i32, dv: i32,
  q: usize, qBatch: i32, qHead: i32, qRow: i32,
  k: usize, kBatch: i32, kHead: i32, kRow: i32,
  v: usize, vBatch: i32, vHead: i32, vRow: i32,
  out: usize, oBatch: i32, oHead: i32, oRow: i32,
  scale: f32, causal: i32, softcap: f32,
  maskKind: i32, mask: usize, ms0: i32, ms1: i32, ms2: i32, ms3: i32,
  weights: usize, wBatch: i32, wHead: i32, work: usize,
): void {
  const group = qHeads / kvHeads;
  const tkPad = roundUp(tk, NR);
  const kPacked = work;
  const vPacked = kPacked + <usize>(tkPad * dk) * 4;
  const scores = vPacked + <usize>(roundUp(dv, NR) * tk) * 4;
  const sStride = <usize>tkPad * 4;
  const vPanels = (dv + NR - 1) / NR;
  for (let b = 0; b < batch; b++) {
    for (let kvh = 0; kvh < kvHeads; kvh++) {
      packBTransposed(dk, tk, k + (<usize>b * kBatch + <usize>kvh * kHead) * 4, kRow, kPacked);
      packB(tk, dv, v + (<usize>b * vBatch + <usize>kvh * vHead) * 4, vRow, vPacked);
      for (let h = kvh * group; h < (kvh + 1) * group; h++) {
        const qBase = q + (<usize>b * qBatch + <usize>h * qHead) * 4;
        const oBase = out + (<usize>b * oBatch + <usize>h * oHead) * 4;
        for (let i0 = 0; i0 < tq; i0 += MR) {
          const rows = min(MR, tq - i0);
          const kvEnd = causal ? min(tk, i0 + rows) : tk;
          const kPanels = (kvEnd + NR - 1) / NR;
          const qTile = qBase + <usize>i0 * <usize>qRow * 4;
          for (let p = 0; p < kPanels; p++) {
            gemm4x8(dk, qTile, <usize>qRow * 4, kPacked + <usize>(p * dk * NR) * 4, 0, scores + <usize>(p * NR) * 4, sStride, rows, NR);
          }
          for (let r = 0; r < rows; r++) {
            const i = i0 + r;
            const visible = causal ? min(tk, i + 1) : tk;
            const s = scores + <usize>r * sStride;
            const maskRow: usize = maskKind == MASK_NONE ? 0 : <usize>b * ms0 + <usize>h * ms1 + <usize>i * ms2;
            softmaxRow(s, visible, kvEnd, scale, softcap, maskKind, mask, maskRow, ms3);
            if (weights != 0) {
              const wRow = weights + (<usize>b * wBatch + <usize>h * wHead + <usize>i * <usize>tk) * 4;
              memory.copy(wRow, s, <usize>visible * 4);
              if (visible < tk) memory.fill(wRow + <usize>visible * 4, 0, <usize>(tk - visible) * 4);
            }
          }
          const oTile = oBase + <usize>i0 * <usize>oRow * 4;
          for (let p = 0; p < vPanels; p++) {
            gemm4x8(kvEnd, scores, sStride, vPacked + <usize>(p * tk * NR) * 4, 0, oTile + <usize>(p * NR) * 4, <usize>oRow * 4, rows, min(NR, dv - p * NR));
          }
        }
      }
    }
  }
}

/**
 * Turns one row of raw dot products `s[0..visible)` into softmax weights in place and zeroes
 * `s[visible..kvEnd)` (keys the causal mask hides inside the tile). Float32 throughout; the mask add is
 * float32 as SPEC.md prescribes.
 */
export function softmaxRow(s: usize, visible: i32, kvEnd: i32, scale: f32, softcap: f32, maskKind: i32, mask: usize, maskRow: usize, maskStep: i32): void {
  const vScale = f32x4.splat(scale);
  const vInf = f32x4.splat(Infinity);
  const full = visible & ~3;
  // Scale, and note any score that is not finite: float32 overflow of q.k or of the scaling.
  let finite = i32x4.splat(-1);
  for (let j = 0; j < full; j += 4) {
    const at = s + <usize>j * 4;
    const x = f32x4.mul(v128.load(at), vScale);
    v128.store(at, x);
    finite = v128.and(finite, f32x4.lt(f32x4.abs(x), vInf));
  }
  let overflow = !v128.all_true<i32>(finite);
  for (let j = full; j < visible; j++) {
    const at = s + <usize>j * 4;
    const x = load<f32>(at) * scale;
    store<f32>(at, x);
    if (!(abs(x) < Infinity)) overflow = true;
  }
  let live = visible;
  if (softcap > 0 || maskKind != MASK_NONE) {
    // Soft-capping bounds an overflowed score exactly as it bounds the float64 one (tanh(inf) = 1), so
    // only a NaN stays an overflow; a key the mask removes cannot overflow the row either.
    overflow = false;
    live = 0;
    for (let j = 0; j < visible; j++) {
      const at = s + <usize>j * 4;
      let x = load<f32>(at);
      if (softcap > 0) x = <f32>(<f64>softcap * Math.tanh(<f64>x / <f64>softcap));
      let masked = false;
      if (maskKind == MASK_BOOL) {
        masked = load<u8>(mask + maskRow + <usize>j * maskStep) == 0;
      } else if (maskKind == MASK_ADDITIVE) {
        const m = load<f32>(mask + (maskRow + <usize>j * maskStep) * 4);
        if (m == -Infinity) masked = true;
        else {
          if (!(abs(x) < Infinity)) overflow = true;
          x = x + m;
        }
      }
      if (masked) x = -Infinity;
      else {
        if (maskKind != MASK_ADDITIVE && !(abs(x) < Infinity)) overflow = true;
        // A finite mask value can still push the float32 sum to -Infinity: like the reference, that key
        // then weighs 0, and a row of such keys is empty.
        if (x > -Infinity) live++;
      }
      store<f32>(at, x);
    }
  }
  const vEnd = (visible + 3) & ~3;
  if (overflow || live == 0) {
    // NaN marks the overflow for core; zeros are the spec's answer for a row with no key left.
    const fill: f32 = overflow ? NaN : 0;
    for (let j = 0; j < kvEnd; j++) store<f32>(s + <usize>j * 4, fill);
    return;
  }
  // Keys past `visible` up to the next vector boundary become -Infinity, i.e. weight 0 after exp.
  for (let j = visible; j < vEnd; j++) store<f32>(s + <usize>j * 4, -Infinity);
  let vmax = f32x4.splat(-Infinity);
  for (let j = 0; j < vEnd; j += 4) vmax = f32x4.max(vmax, v128.load(s + <usize>j * 4));
  const mx = f32x4.splat(hmax(vmax));
  let vsum = f32x4.splat(0);
  for (let j = 0; j < vEnd; j += 4) {
    const at = s + <usize>j * 4;
    const e = exp4(f32x4.sub(v128.load(at), mx));
    v128.store(at, e);
    vsum = f32x4.add(vsum, e);
  }
  // The row's largest score contributes e^0 = 1, so the sum is at least 1.
  const inv = f32x4.splat(<f32>1.0 / hsum(vsum));
  for (let j = 0; j < vEnd; j += 4) {
    const at = s + <usize>j * 4;
    v128.store(at, f32x4.mul(v128.load(at), inv));
  }
  for (let j = vEnd; j < kvEnd; j++) store<f32>(s + <usize>j * 4, 0);
}
