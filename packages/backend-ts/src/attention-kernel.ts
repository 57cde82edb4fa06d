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
        if (transformed) applySoftcapAndMask(p, scores, r, b, h, i, visible);
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

/** Soft-caps and masks one query row of the scores tile in place (the core op's optional steps). */
function applySoftcapAndMask(p: AttentionProblem, scores: Float64Array, r: number, b: number, h: number, i: number, visible: number): void {
  const cap = p.softcap;
  const m = p.mask;
  const mBase = m ? b * m.strides[0] + h * m.strides[1] + i * m.strides[2] : 0;
  const mStep = m ? m.strides[3] : 0;
  for (let j = 0; j < visible; j++) {
    const at = j * TILE + r;
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
