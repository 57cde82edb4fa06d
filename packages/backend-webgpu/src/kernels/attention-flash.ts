import { uniformBlock } from '../uniforms.js';

/**
 * Fused attention with online softmax (flash-attention style). One workgroup of {@link ATTENTION_WG}
 * threads owns one query row `(b, h, i)`: it walks the visible keys in tiles of {@link ATTENTION_WG},
 * each thread scoring one key, keeps the running maximum `m` and denominator `l`, rescales the partial
 * output by `exp(m_old - m_new)` and adds the tile's `p_j v_j`. No `[Tq, Tk]` score matrix exists in GPU
 * memory; the `weights` variant (only when weights are requested) makes a second pass that writes the
 * normalised weights.
 *
 * Order of operations is SPEC.md's core op: `scale * q.k` -> soft-cap -> mask (bool, or additive in
 * float32) and causal -> max-subtracted softmax -> `@ v`. Causal is top-left aligned: row `i` stops at
 * key `i`, so the tiles after it are never visited. A row with no visible key writes zeros.
 * Query head `h` reads KV head `h / group`. Every tensor is addressed through element strides and an
 * offset, so one kernel reads both the module's fused `[B*T, 3*dOut]` projection buffer and the core
 * op's `[B, H, T, d]` tensors, and masks broadcast through zero strides.
 *
 * Workgroup memory: 3 x 64 floats for the tile plus {@link Q_CACHE} floats of the query row, 3 KiB of
 * the 16 KiB WebGPU guarantees.
 */
export const ATTENTION_WG = 64;

/** Query elements kept in workgroup memory; a longer head dimension reads the rest from storage. */
export const Q_CACHE = 512;

/** What changes the WGSL source. Sizes, strides, scale, softcap and causal are uniforms. */
export interface AttentionVariant {
  readonly mask: 'none' | 'bool' | 'additive';
  readonly softcap: boolean;
  /** The two-pass path that also writes `weights [rows, Tk]`. */
  readonly weights: boolean;
}

/** Pipeline cache key, derived from every field of the variant (a missed field would reuse a wrong pipeline). */
export function attentionVariantKey(v: AttentionVariant): string {
  const keys = Object.keys(v).sort() as (keyof AttentionVariant)[];
  return `attention-flash{${keys.map((k) => `${k}=${String(v[k])}`).join(',')}}`;
}

/** Uniforms: dims, causal flag, per-tensor element strides (batch, head, token) and offsets, mask strides. */
export const ATTENTION_PARAMS = uniformBlock([
  ['rows', 'u32'],
  ['q_heads', 'u32'],
  ['group', 'u32'],
  ['tq', 'u32'],
  ['tk', 'u32'],
  ['dk', 'u32'],
  ['dv', 'u32'],
  ['causal', 'u32'],
  ['q_sb', 'u32'],
  ['q_sh', 'u32'],
  ['q_st', 'u32'],
  ['q_off', 'u32'],
  ['k_sb', 'u32'],
  ['k_sh', 'u32'],
  ['k_st', 'u32'],
  ['k_off', 'u32'],
  ['v_sb', 'u32'],
  ['v_sh', 'u32'],
  ['v_st', 'u32'],
  ['v_off', 'u32'],
  ['o_sb', 'u32'],
  ['o_sh', 'u32'],
  ['o_st', 'u32'],
  ['m_sb', 'u32'],
  ['m_sh', 'u32'],
  ['m_st', 'u32'],
  ['m_sk', 'u32'],
  ['scale', 'f32'],
  ['softcap', 'f32'],
] as const);

/** The bindings a variant's pipeline uses, in binding order. */
export function attentionBindings(v: AttentionVariant): string[] {
  const names = ['params', 'q', 'k', 'v', 'out'];
  if (v.mask !== 'none') names.push('mask');
  if (v.weights) names.push('weights');
  return names;
}

/** The WGSL source of one variant. */
export function attentionFlashWgsl(v: AttentionVariant): string {
  const bindings = attentionBindings(v);
  const decl: Record<string, string> = {
    params: 'var<uniform> params: Params',
    q: 'var<storage, read> q: array<f32>',
    k: 'var<storage, read> k: array<f32>',
    v: 'var<storage, read> v: array<f32>',
    out: 'var<storage, read_write> out: array<f32>',
    // Bool masks arrive as one u32 per element; additive masks as float32 bits, so -Infinity is
    // recognised by its bit pattern rather than by float comparisons a compiler may assume finite.
    mask: 'var<storage, read> mask: array<u32>',
    weights: 'var<storage, read_write> weights: array<f32>',
  };
  const maskCode =
    v.mask === 'bool'
      ? `  if (mask[mask_base + j * params.m_sk] == 0u) { return vec2f(0.0, 0.0); }`
      : v.mask === 'additive'
        ? `  let bits = mask[mask_base + j * params.m_sk];
  if (bits == NEG_INF_BITS) { return vec2f(0.0, 0.0); }
  s = s + bitcast<f32>(bits);`
        : '';
  return /* wgsl */ `
const WG: u32 = ${ATTENTION_WG}u;
const Q_CACHE: u32 = ${Q_CACHE}u;
const NEG_INF_BITS: u32 = 0xff800000u;
${ATTENTION_PARAMS.wgsl('Params')}
${bindings.map((name, i) => `@group(0) @binding(${i}) ${decl[name]};`).join('\n')}

var<workgroup> q_row: array<f32, Q_CACHE>;
var<workgroup> p_tile: array<f32, WG>;
var<workgroup> red_val: array<f32, WG>;
var<workgroup> red_ok: array<u32, WG>;

// Per-row addressing, set once at the top of main (module-scope privates keep the helpers' signatures short).
var<private> q_base: u32;
var<private> k_base: u32;
var<private> v_base: u32;
var<private> o_base: u32;
var<private> mask_base: u32;

${
  v.softcap
    ? `// tanh from exp(-2|x|): finite for every input (a sinh/cosh form overflows past |x| ~ 44), and a
// Taylor series near 0 where 1 - e^(-2|x|) would cancel.
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
// Score of key j for this row: (value, 1) when visible, (0, 0) when masked.
fn score(j: u32) -> vec2f {
  var dot = 0.0;
  let kr = k_base + j * params.k_st;
  let cached = min(params.dk, Q_CACHE);
  for (var d = 0u; d < cached; d++) { dot = dot + q_row[d] * k[kr + d]; }
  for (var d = cached; d < params.dk; d++) { dot = dot + q[q_base + d] * k[kr + d]; }
  var s = dot * params.scale;
${v.softcap ? '  s = params.softcap * tanh_f32(s / params.softcap);' : ''}
${maskCode}
  return vec2f(s, 1.0);
}

// Tree reduction over the workgroup: the maximum of the visible scores (red_ok marks visibility).
fn reduce_max(lid: u32, s: f32, ok: bool) -> vec2f {
  red_val[lid] = s;
  red_ok[lid] = select(0u, 1u, ok);
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      let o = lid + stride;
      if (red_ok[o] != 0u && (red_ok[lid] == 0u || red_val[o] > red_val[lid])) {
        red_val[lid] = red_val[o];
        red_ok[lid] = 1u;
      }
    }
    workgroupBarrier();
  }
  let r = vec2f(red_val[0], f32(red_ok[0]));
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, x: f32) -> f32 {
  red_val[lid] = x;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red_val[lid] = red_val[lid] + red_val[lid + stride]; }
    workgroupBarrier();
  }
  let r = red_val[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let lid = lid3.x;
  // Rows fold over x and y: one dimension holds at most 65535 workgroups.
  let row = wg.x + wg.y * nwg.x;
  if (row >= params.rows) { return; }
  let i = row % params.tq;
  let h = (row / params.tq) % params.q_heads;
  let b = row / (params.tq * params.q_heads);
  let kvh = h / params.group;
  q_base = params.q_off + b * params.q_sb + h * params.q_sh + i * params.q_st;
  k_base = params.k_off + b * params.k_sb + kvh * params.k_sh;
  v_base = params.v_off + b * params.v_sb + kvh * params.v_sh;
  o_base = b * params.o_sb + h * params.o_sh + i * params.o_st;
  mask_base = b * params.m_sb + h * params.m_sh + i * params.m_st;
  let k_end = select(params.tk, min(params.tk, i + 1u), params.causal != 0u);

  for (var d = lid; d < min(params.dk, Q_CACHE); d += WG) { q_row[d] = q[q_base + d]; }
  workgroupBarrier();

  var m_run = 0.0;
  var has_m = false;
  var l = 0.0;
${v.weights ? weightsBody() : flashBody()}
}
`;
}

/** Single pass: online softmax, output rescaled per tile. */
function flashBody(): string {
  return `
  for (var t0 = 0u; t0 < k_end; t0 += WG) {
    let j = t0 + lid;
    var sc = vec2f(0.0, 0.0);
    if (j < k_end) { sc = score(j); }
    let ok = sc.y > 0.5;
    let tm = reduce_max(lid, sc.x, ok);
    let tile_ok = tm.y > 0.5;
    var new_m = m_run;
    if (tile_ok) { new_m = select(tm.x, max(m_run, tm.x), has_m); }
    // Before any visible key the partial output and l are 0, so the factor does not matter.
    let alpha = select(0.0, exp(m_run - new_m), has_m);
    let p = select(0.0, exp(sc.x - new_m), ok);
    p_tile[lid] = p;
    l = l * alpha + reduce_sum(lid, p);
    has_m = has_m || tile_ok;
    m_run = new_m;
    let n = min(WG, k_end - t0);
    for (var d = lid; d < params.dv; d += WG) {
      var acc = 0.0;
      if (t0 > 0u) { acc = out[o_base + d] * alpha; }
      for (var jj = 0u; jj < n; jj++) { acc = acc + p_tile[jj] * v[v_base + (t0 + jj) * params.v_st + d]; }
      out[o_base + d] = acc;
    }
    workgroupBarrier();
  }
  for (var d = lid; d < params.dv; d += WG) {
    // l >= 1 whenever a key was visible (the maximum's own term is exp(0) = 1); l = 0 means fully masked.
    out[o_base + d] = select(0.0, out[o_base + d] / l, l > 0.0);
  }`;
}

/** Two passes: maximum and denominator first, then normalised weights written and `@ v` accumulated. */
function weightsBody(): string {
  return `
  for (var t0 = 0u; t0 < k_end; t0 += WG) {
    let j = t0 + lid;
    var sc = vec2f(0.0, 0.0);
    if (j < k_end) { sc = score(j); }
    let ok = sc.y > 0.5;
    let tm = reduce_max(lid, sc.x, ok);
    let tile_ok = tm.y > 0.5;
    var new_m = m_run;
    if (tile_ok) { new_m = select(tm.x, max(m_run, tm.x), has_m); }
    let alpha = select(0.0, exp(m_run - new_m), has_m);
    l = l * alpha + reduce_sum(lid, select(0.0, exp(sc.x - new_m), ok));
    has_m = has_m || tile_ok;
    m_run = new_m;
  }
  let inv_l = select(0.0, 1.0 / l, l > 0.0);
  let w_base = row * params.tk;
  for (var d = lid; d < params.dv; d += WG) { out[o_base + d] = 0.0; }
  for (var t0 = 0u; t0 < k_end; t0 += WG) {
    let j = t0 + lid;
    var sc = vec2f(0.0, 0.0);
    if (j < k_end) { sc = score(j); }
    let p = select(0.0, exp(sc.x - m_run) * inv_l, sc.y > 0.5);
    if (j < k_end) { weights[w_base + j] = p; }
    p_tile[lid] = p;
    workgroupBarrier();
    let n = min(WG, k_end - t0);
    for (var d = lid; d < params.dv; d += WG) {
      var acc = out[o_base + d];
      for (var jj = 0u; jj < n; jj++) { acc = acc + p_tile[jj] * v[v_base + (t0 + jj) * params.v_st + d]; }
      out[o_base + d] = acc;
    }
    workgroupBarrier();
  }
  // Keys after the causal boundary are never visited; their weights are exactly 0.
  for (var j = k_end + lid; j < params.tk; j += WG) { weights[w_base + j] = 0.0; }`;
}

/** Most workgroups one dispatch dimension may hold (WebGPU's default `maxComputeWorkgroupsPerDimension`). */
export const MAX_GRID_DIM = 65535;

/** Grid `[x, y]` for `rows` query rows, folded so neither dimension exceeds `maxDim`; undefined when it cannot fit. */
export function attentionGrid(rows: number, maxDim = MAX_GRID_DIM): [number, number] | undefined {
  const x = Math.min(rows, maxDim);
  const y = Math.ceil(rows / x);
  return y > maxDim ? undefined : [x, y];
}
