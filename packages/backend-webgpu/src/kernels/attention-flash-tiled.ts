import { ATTENTION_PARAMS, type AttentionVariant } from './attention-flash.js';

/**
 * Query-tiled flash attention: the path for head sizes up to {@link TILED_MAX_HEAD_DIM} when weights
 * are not requested. A workgroup of {@link BLOCK_Q} threads owns `BLOCK_Q` consecutive query rows of one
 * `(b, h)`, one row per thread, each row's `q` and partial output in registers. Keys and values arrive in
 * tiles of {@link BLOCK_KV} rows staged in workgroup memory, so every K/V element is read from storage
 * once per query block instead of once per query row (the point of flash attention). Softmax state is
 * per thread (running max, denominator, rescale by `exp(m_old - m_new)`): no reductions, no barriers
 * beyond the tile loads. Causal: the block stops at its last row's last visible key (top-left aligned);
 * keys past a row's own boundary are masked per row.
 *
 * Head sizes are compile-time (padded up to 16, 32, 64 or 128, zeros beyond the real size), so the dot
 * products and output updates are fixed-length loops. Same uniforms as {@link ATTENTION_PARAMS}.
 *
 * Workgroup memory: K and V tiles of {@link kvTileRows} keys, at most 8 KiB (16 keys x (64 + 64) floats,
 * or 8 keys x (128 + 128) floats), half the 16 KiB WebGPU guarantees.
 */
export const BLOCK_Q = 32;
/** Keys per tile when both padded head sizes are at most 64. */
export const BLOCK_KV = 16;
/** Largest head size (dk and dv) the tiled path compiles for. */
export const TILED_MAX_HEAD_DIM = 128;

/** Keys per K/V tile for padded head sizes: halved above 64 to keep the tiles within 8 KiB. */
export function kvTileRows(dk: number, dv: number): number {
  return Math.max(dk, dv) > 64 ? BLOCK_KV / 2 : BLOCK_KV;
}

/** A variant of the tiled kernel: the flash variant plus the padded head sizes. */
export interface TiledVariant {
  readonly mask: AttentionVariant['mask'];
  readonly softcap: boolean;
  readonly dk: number;
  readonly dv: number;
}

/** Head size padded to the next of 16, 32, 64, 128; undefined above {@link TILED_MAX_HEAD_DIM}. */
export function padHeadDim(d: number): number | undefined {
  for (const p of [16, 32, 64, 128]) if (d <= p) return p;
  return undefined;
}

/** The tiled variant for a call, or undefined when the call needs the per-row kernel (weights, big heads). */
export function tiledVariant(v: AttentionVariant, dk: number, dv: number): TiledVariant | undefined {
  if (v.weights) return undefined;
  const pk = padHeadDim(dk);
  const pv = padHeadDim(dv);
  return pk === undefined || pv === undefined ? undefined : { mask: v.mask, softcap: v.softcap, dk: pk, dv: pv };
}

/** Pipeline cache key, derived from every field. */
export function tiledVariantKey(v: TiledVariant): string {
  const keys = Object.keys(v).sort() as (keyof TiledVariant)[];
  return `attention-flash-tiled{${keys.map((k) => `${k}=${String(v[k])}`).join(',')}}`;
}

/** Binding order. */
export function tiledBindings(v: TiledVariant): string[] {
  return v.mask === 'none' ? ['params', 'q', 'k', 'v', 'out'] : ['params', 'q', 'k', 'v', 'out', 'mask'];
}

/** Workgroup grid `[x, y]`: one workgroup per `(b, h, query block)`, folded over two dimensions. */
export function tiledBlocks(rows: number, tq: number): number {
  return (rows / tq) * Math.ceil(tq / BLOCK_Q);
}

/** The WGSL source of one tiled variant. */
export function attentionFlashTiledWgsl(v: TiledVariant): string {
  const decl: Record<string, string> = {
    params: 'var<uniform> params: Params',
    q: 'var<storage, read> q: array<f32>',
    k: 'var<storage, read> k: array<f32>',
    v: 'var<storage, read> v: array<f32>',
    out: 'var<storage, read_write> out: array<f32>',
    mask: 'var<storage, read> mask: array<u32>',
  };
  const maskCode =
    v.mask === 'bool'
      ? `        if (mask[mask_base + j * params.m_sk] == 0u) { visible = false; }`
      : v.mask === 'additive'
        ? `        let bits = mask[mask_base + j * params.m_sk];
        if (bits == NEG_INF_BITS) { visible = false; } else { s = s + bitcast<f32>(bits); }`
        : '';
  return /* wgsl */ `
const BLOCK_Q: u32 = ${BLOCK_Q}u;
const BLOCK_KV: u32 = ${kvTileRows(v.dk, v.dv)}u;
const DK: u32 = ${v.dk}u;
const DV: u32 = ${v.dv}u;
const NEG_INF_BITS: u32 = 0xff800000u;
${ATTENTION_PARAMS.wgsl('Params')}
${tiledBindings(v)
  .map((name, i) => `@group(0) @binding(${i}) ${decl[name]};`)
  .join('\n')}

var<workgroup> k_tile: array<array<f32, DK>, BLOCK_KV>;
var<workgroup> v_tile: array<array<f32, DV>, BLOCK_KV>;
${
  v.softcap
    ? `
fn tanh_f32(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 0.125) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
  }
  let e = exp(-2.0 * ax);
  return sign(x) * (1.0 - e) / (1.0 + e);
}
`
    : ''
}
@compute @workgroup_size(BLOCK_Q)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let lid = lid3.x;
  let blocks_per_head = (params.tq + BLOCK_Q - 1u) / BLOCK_Q;
  let block = wg.x + wg.y * nwg.x;
  let bh = block / blocks_per_head;
  if (bh >= params.rows / params.tq) { return; }
  let q0 = (block % blocks_per_head) * BLOCK_Q;
  let h = bh % params.q_heads;
  let b = bh / params.q_heads;
  let kvh = h / params.group;
  let i = q0 + lid;
  let row_ok = i < params.tq;
  let k_base = params.k_off + b * params.k_sb + kvh * params.k_sh;
  let v_base = params.v_off + b * params.v_sb + kvh * params.v_sh;
  let mask_base = b * params.m_sb + h * params.m_sh + i * params.m_st;
  let last = min(q0 + BLOCK_Q, params.tq) - 1u;
  let k_end = select(params.tk, min(params.tk, last + 1u), params.causal != 0u);
  let row_end = select(params.tk, min(params.tk, i + 1u), params.causal != 0u);

  var qv: array<f32, DK>;
  var o: array<f32, DV>;
  if (row_ok) {
    let q_base = params.q_off + b * params.q_sb + h * params.q_sh + i * params.q_st;
    for (var d = 0u; d < params.dk; d++) { qv[d] = q[q_base + d]; }
  }
  var m_run = 0.0;
  var has_m = false;
  var l = 0.0;

  for (var t0 = 0u; t0 < k_end; t0 += BLOCK_KV) {
    workgroupBarrier();
    // Stage keys t0 .. t0 + BLOCK_KV - 1; zeros past the end and past the real head sizes.
    for (var e = lid; e < BLOCK_KV * DK; e += BLOCK_Q) {
      let jj = e / DK;
      let d = e % DK;
      let j = t0 + jj;
      var val = 0.0;
      if (j < params.tk && d < params.dk) { val = k[k_base + j * params.k_st + d]; }
      k_tile[jj][d] = val;
    }
    for (var e = lid; e < BLOCK_KV * DV; e += BLOCK_Q) {
      let jj = e / DV;
      let d = e % DV;
      let j = t0 + jj;
      var val = 0.0;
      if (j < params.tk && d < params.dv) { val = v[v_base + j * params.v_st + d]; }
      v_tile[jj][d] = val;
    }
    workgroupBarrier();
    // Rows past the end only helped load the tiles (every thread must reach every barrier).
    if (row_ok) {
      let n = min(BLOCK_KV, row_end - min(row_end, t0));
      for (var jj = 0u; jj < n; jj++) {
        let j = t0 + jj;
        var dot = 0.0;
        for (var d = 0u; d < DK; d++) { dot = dot + qv[d] * k_tile[jj][d]; }
        var s = dot * params.scale;
${v.softcap ? '        s = params.softcap * tanh_f32(s / params.softcap);' : ''}
        var visible = true;
${maskCode}
        if (visible) {
          let new_m = select(s, max(m_run, s), has_m);
          let alpha = select(0.0, exp(m_run - new_m), has_m);
          let p = exp(s - new_m);
          l = l * alpha + p;
          for (var d = 0u; d < DV; d++) { o[d] = o[d] * alpha + p * v_tile[jj][d]; }
          m_run = new_m;
          has_m = true;
        }
      }
    }
  }
  if (row_ok) {
    let o_base = b * params.o_sb + h * params.o_sh + i * params.o_st;
    // l >= 1 once a key was visible (the maximum's own term is exp(0) = 1); l = 0: fully masked row.
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var d = 0u; d < params.dv; d++) { out[o_base + d] = o[d] * inv; }
  }
}
`;
}
