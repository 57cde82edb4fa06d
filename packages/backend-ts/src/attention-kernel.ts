import type { AttentionDims, AttentionMask } from '@mha/core';
import { rowKeyExtent, tileKeyExtent } from './causal.js';
import { microKernel8x8, TILE } from './micro-kernel.js';
import { packColumnPanels, packRowPanels, roundUpToTile, type Numbers } from './pack.js';
import type { ScratchPool } from './scratch.js';
import { softmaxStrided } from './softmax.js';

/**
 * Where the rows of every (batch, head) of a `[*, *, T, d]` operand live in a flat buffer: row `i` of
 * head `h` in batch `b` starts at `offset + b*batchStride + h*headStride + i*rowStride`, and its `d`
 * values are contiguous. This one description covers both a `[B, H, T, d]` tensor (the core op) and
 * the head column blocks of a `[B*T, 3*dOut]` fused projection (the module), so neither needs a copy.
 */
export interface HeadLayout<A extends Numbers = Numbers> {
  readonly data: A;
  readonly offset: number;
  readonly batchStride: number;
  readonly headStride: number;
  readonly rowStride: number;
}

/** A mask with its broadcast strides over `[B, Hq, Tq, Tk]` (from core's `maskStrides`). */
export interface StridedMask {
  readonly kind: AttentionMask['kind'];
  readonly data: Uint8Array | Float32Array;
  readonly strides: readonly [number, number, number, number];
}

/** One attention computation: `softmax(scale * q k^T [softcap] [+ mask] [causal]) @ v` per head. */
export interface AttentionProblem extends AttentionDims {
  /** `[B, Hq, Tq, dk]` */
  readonly q: HeadLayout;
  /** `[B, Hkv, Tk, dk]` */
  readonly k: HeadLayout;
  /** `[B, Hkv, Tk, dv]` */
  readonly v: HeadLayout;
  /** `[B, Hq, Tq, dv]`, written (every element of every row, never accumulated into). */
  readonly out: HeadLayout;
  readonly scale: number;
  readonly causal: boolean;
  /** `> 0` applies `softcap * tanh(s / softcap)` to the scaled scores. */
  readonly softcap: number;
  readonly mask: StridedMask | undefined;
  /**
   * When set, the attention weights are written here as `[B, Hq, Tq, Tk]` float32. Must be zeroed on
   * entry: positions a causal mask hides are never written.
   */
  readonly weights: Float32Array | undefined;
}

/**
 * Runs attention: {@link runSmallQueryAttention} for up to {@link SMALL_QUERY_ROWS} query rows per head
 * (decode steps), else {@link runTiledAttention}, described here. Both give the same bits.
 *
 * Runs attention one tile of 8 query rows at a time per head, so memory stays O(T x d): the only score
 * storage is one tile's `8 x Tk` doubles, and the full `[H, T, T]` score matrix is never materialised
 * (weights, when requested, are written straight into the caller's buffer).
 *
 * Per head: keys are packed once as row panels (which is `K^T` in column-panel form) and values as
 * column panels; each query tile is packed with `scale` folded in. Scores come out of the
 * micro-kernel key-major (`scores[j*8 + r]`), exactly the row-panel layout the `weights x V` product
 * reads, so no transpose happens anywhere. Under causal masking the key panels past a tile's last row
 * are never touched, halving the work.
 *
 * `firstPair` / `endPair` restrict the run to the (batch, query head) pairs `b * Hq + h` in
 * `[firstPair, endPair)` (default: all). A pair's result depends only on its own q/k/v and is computed
 * by the same operations in the same order whatever the range, so splitting pairs across threads
 * gives bit-identical output.
 */
export function runAttention(p: AttentionProblem, scratch: ScratchPool, firstPair = 0, endPair = p.batch * p.qHeads): void {
  if (p.tq <= SMALL_QUERY_ROWS) runSmallQueryAttention(p, scratch, firstPair, endPair);
  else runTiledAttention(p, scratch, firstPair, endPair);
}

/**
 * Query rows per head up to which {@link runAttention} takes {@link runSmallQueryAttention}. Packing a
 * head's K and V costs as much as the whole unpacked computation of one query row, so the tiled path
 * only pays off once several rows share the panels (measured at Tk = 1024, dk = 64: see the changeset).
 */
export const SMALL_QUERY_ROWS = 6;

/** The tiled path of {@link runAttention}, for any number of query rows (exported for tests). */
export function runTiledAttention(p: AttentionProblem, scratch: ScratchPool, firstPair = 0, endPair = p.batch * p.qHeads): void {
  const { qHeads: Hq, kvHeads: Hkv, tq, tk, dk, dv, q, k, v, out, causal, weights } = p;
  const group = Hq / Hkv;
  const keyPanels = Math.ceil(tk / TILE);
  const kPanels = scratch.get('attn.kPanels', keyPanels * TILE * dk);
  const vPanels = scratch.get('attn.vPanels', roundUpToTile(dv) * tk);
  const qTile = scratch.get('attn.qTile', TILE * dk);
  const scores = scratch.get('attn.scores', keyPanels * TILE * TILE);
  const ctxTile = scratch.get('attn.ctxTile', TILE * TILE);
  const transformed = p.softcap > 0 || p.mask !== undefined;
  const valuePanels = Math.ceil(dv / TILE);

  let packedKv = -1; // b * Hkv + kvh of the K/V head now in the panels
  for (let pair = firstPair; pair < endPair; pair++) {
    const b = Math.floor(pair / Hq);
    const h = pair - b * Hq;
    // Grouped-query: query heads h = kvh*group .. (kvh+1)*group - 1 share KV head kvh; pack it once.
    const kvh = Math.floor(h / group);
    if (b * Hkv + kvh !== packedKv) {
      packRowPanels(k.data, k.offset + b * k.batchStride + kvh * k.headStride, k.rowStride, tk, dk, kPanels);
      packColumnPanels(v.data, v.offset + b * v.batchStride + kvh * v.headStride, v.rowStride, tk, dv, vPanels);
      packedKv = b * Hkv + kvh;
    }
    const qOff = q.offset + b * q.batchStride + h * q.headStride;
    const oOff = out.offset + b * out.batchStride + h * out.headStride;
    const wOff = ((b * Hq + h) * tq) * tk;

    for (let i0 = 0; i0 < tq; i0 += TILE) {
      const rows = Math.min(TILE, tq - i0);
      packRowPanels(q.data, qOff + i0 * q.rowStride, q.rowStride, rows, dk, qTile, p.scale);
      const kvEnd = tileKeyExtent(i0, rows, tk, causal);
      const panels = Math.ceil(kvEnd / TILE);

      // scores[j*8 + r] = scale * q[i0 + r] . k[j], a panel of 8 keys at a time.
      for (let jp = 0; jp < panels; jp++) microKernel8x8(kPanels, jp * dk * TILE, qTile, 0, dk, scores, jp * TILE * TILE);

      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        const visible = rowKeyExtent(i, tk, causal);
        if (transformed) applySoftcapAndMask(p, scores, r, TILE, b, h, i, visible);
        softmaxStrided(scores, r, TILE, visible);
        // Keys past this row's extent but inside the tile's must weigh 0 in weights x V.
        for (let j = visible; j < kvEnd; j++) scores[j * TILE + r] = 0;
        if (weights) {
          const wRow = wOff + i * tk;
          for (let j = 0; j < visible; j++) weights[wRow + j] = scores[j * TILE + r]!;
        }
      }

      // context[i0 + r, c] = sum_j weights[r, j] * v[j, c], 8 value columns at a time.
      for (let cp = 0; cp < valuePanels; cp++) {
        microKernel8x8(scores, 0, vPanels, cp * tk * TILE, kvEnd, ctxTile, 0);
        const c0 = cp * TILE;
        const cols = Math.min(TILE, dv - c0);
        for (let r = 0; r < rows; r++) {
          const o = oOff + (i0 + r) * out.rowStride + c0;
          for (let c = 0; c < cols; c++) out.data[o + c] = ctxTile[r * TILE + c]!;
        }
      }
    }
  }
}

/**
 * Attention for a few query rows per head (a decode step: one new token over a long cache), with no
 * packing: each score is a dot product of the scaled query row with a key row read in place, and the
 * context is the weighted sum of value rows read in place. Packing K and V for the micro-kernel would
 * cost as much as this whole computation for one query row, and the 8 x 8 kernel would waste 7 of its
 * 8 rows.
 *
 * Same results as {@link runTiledAttention}, bit for bit on finite data: every score sums
 * `(scale * q[c]) * k[j, c]` over `c` in order, every context element sums `w[j] * v[j, c]` over `j` in
 * order, both in float64, and the soft-cap, mask, softmax and weights are the same functions.
 * Same `firstPair` / `endPair` contract as {@link runAttention}.
 */
export function runSmallQueryAttention(p: AttentionProblem, scratch: ScratchPool, firstPair = 0, endPair = p.batch * p.qHeads): void {
  const { qHeads: Hq, kvHeads: Hkv, tq, tk, dk, dv, q, k, v, out, causal, weights } = p;
  const group = Hq / Hkv;
  const qRow = scratch.get('attn.qRow', dk);
  const scores = scratch.get('attn.rowScores', tk);
  const transformed = p.softcap > 0 || p.mask !== undefined;
  for (let pair = firstPair; pair < endPair; pair++) {
    const b = Math.floor(pair / Hq);
    const h = pair - b * Hq;
    const kvh = Math.floor(h / group);
    const kOff = k.offset + b * k.batchStride + kvh * k.headStride;
    const vOff = v.offset + b * v.batchStride + kvh * v.headStride;
    const qOff = q.offset + b * q.batchStride + h * q.headStride;
    const oOff = out.offset + b * out.batchStride + h * out.headStride;
    const wOff = ((b * Hq + h) * tq) * tk;
    for (let i = 0; i < tq; i++) {
      const visible = rowKeyExtent(i, tk, causal);
      const qi = qOff + i * q.rowStride;
      for (let c = 0; c < dk; c++) qRow[c] = p.scale * q.data[qi + c]!;
      dotRows(qRow, dk, k.data, kOff, k.rowStride, visible, scores);
      if (transformed) applySoftcapAndMask(p, scores, 0, 1, b, h, i, visible);
      softmaxStrided(scores, 0, 1, visible);
      if (weights) {
        const wRow = wOff + i * tk;
        for (let j = 0; j < visible; j++) weights[wRow + j] = scores[j]!;
      }
      weightedRows(scores, visible, v.data, vOff, v.rowStride, dv, out.data, oOff + i * out.rowStride);
    }
  }
}

/**
 * `scores[j] = sum_c x[c] * m[off + j*stride + c]` for `j < rows`. Four rows at a time, so each load of
 * `x` feeds four multiply-adds and four independent sums hide the add latency; each sum still runs
 * over `c` in order.
 */
function dotRows(x: Float64Array, len: number, m: Numbers, off: number, stride: number, rows: number, scores: Float64Array): void {
  let j = 0;
  for (; j + 4 <= rows; j += 4) {
    const r0 = off + j * stride;
    const r1 = r0 + stride;
    const r2 = r1 + stride;
    const r3 = r2 + stride;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let c = 0; c < len; c++) {
      const a = x[c]!;
      s0 += a * m[r0 + c]!;
      s1 += a * m[r1 + c]!;
      s2 += a * m[r2 + c]!;
      s3 += a * m[r3 + c]!;
    }
    scores[j] = s0;
    scores[j + 1] = s1;
    scores[j + 2] = s2;
    scores[j + 3] = s3;
  }
  for (; j < rows; j++) {
    const r = off + j * stride;
    let s = 0;
    for (let c = 0; c < len; c++) s += x[c]! * m[r + c]!;
    scores[j] = s;
  }
}

/**
 * `out[o + c] = sum_j w[j] * m[off + j*stride + c]` for `c < cols`, summed over `j < rows` in order in
 * float64. Eight columns at a time in local sums, so the value rows are read in place without a
 * float64 accumulator array in memory.
 */
function weightedRows(w: Float64Array, rows: number, m: Numbers, off: number, stride: number, cols: number, out: Numbers, o: number): void {
  let c0 = 0;
  for (; c0 + 8 <= cols; c0 += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let j = 0, r = off + c0; j < rows; j++, r += stride) {
      const a = w[j]!;
      s0 += a * m[r]!;
      s1 += a * m[r + 1]!;
      s2 += a * m[r + 2]!;
      s3 += a * m[r + 3]!;
      s4 += a * m[r + 4]!;
      s5 += a * m[r + 5]!;
      s6 += a * m[r + 6]!;
      s7 += a * m[r + 7]!;
    }
    out[o + c0] = s0;
    out[o + c0 + 1] = s1;
    out[o + c0 + 2] = s2;
    out[o + c0 + 3] = s3;
    out[o + c0 + 4] = s4;
    out[o + c0 + 5] = s5;
    out[o + c0 + 6] = s6;
    out[o + c0 + 7] = s7;
  }
  for (; c0 < cols; c0++) {
    let s = 0;
    for (let j = 0, r = off + c0; j < rows; j++, r += stride) s += w[j]! * m[r]!;
    out[o + c0] = s;
  }
}

/**
 * Soft-caps and masks one query row of the scores in place (the core op's optional steps): the row's
 * key `j` is at `scores[base + j*stride]` (`stride` 8 in a key-major tile, 1 in a plain row).
 */
function applySoftcapAndMask(p: AttentionProblem, scores: Float64Array, base: number, stride: number, b: number, h: number, i: number, visible: number): void {
  const cap = p.softcap;
  const m = p.mask;
  const mBase = m ? b * m.strides[0] + h * m.strides[1] + i * m.strides[2] : 0;
  const mStep = m ? m.strides[3] : 0;
  for (let j = 0; j < visible; j++) {
    const at = base + j * stride;
    let s = scores[at]!;
    if (cap > 0) s = cap * Math.tanh(s / cap);
    if (m) {
      const mv = m.data[mBase + j * mStep]!;
      if (m.kind === 'bool') s = mv ? s : -Infinity;
      // The mask add is float32 (SPEC.md, "Masks in float32"): a float64 sum would keep scores that
      // float32 torch and every float32 backend lose under a large finite mask value such as -1e9.
      else s = Math.fround(Math.fround(s) + mv);
    }
    scores[at] = s;
  }
}
