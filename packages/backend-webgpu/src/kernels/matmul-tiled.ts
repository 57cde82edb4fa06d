import { uniformBlock } from '../uniforms.js';

/**
 * Tiled matmul `c[M, N] = a[M, K] b[K, N] (+ bias[N])`, row-major float32, any sizes: the projections.
 * Each 16 x 16 workgroup computes one 16 x 16 tile of `c`, staging 16 x 16 tiles of `a` and `b` in
 * workgroup memory (2 x 1 KiB of the 16 KiB WebGPU guarantees), so every element of `a` and `b` is read
 * from storage once per tile instead of once per output. Out-of-range tile elements load as 0 (edges of
 * sizes that are not multiples of 16). Accumulation is float32, in `k` order.
 */
export const MATMUL_TILE = 16;

/** Uniforms of {@link matmulTiledWgsl}. `a_off`/`c_off`: element offsets, so views into bigger buffers work. */
export const MATMUL_PARAMS = uniformBlock([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['has_bias', 'u32'],
] as const);

/** Binding order of the matmul pipeline (its bind group uses these, in this order). */
export const MATMUL_BINDINGS = ['params', 'a', 'b', 'bias', 'c'] as const;

/** The WGSL source. One pipeline serves every size: sizes are uniforms. */
export function matmulTiledWgsl(): string {
  return /* wgsl */ `
const TILE: u32 = ${MATMUL_TILE}u;
${MATMUL_PARAMS.wgsl('Params')}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

var<workgroup> tile_a: array<array<f32, TILE>, TILE>;
var<workgroup> tile_b: array<array<f32, TILE>, TILE>;

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wg.y * TILE + lid.y;
  let col = wg.x * TILE + lid.x;
  var acc = 0.0;
  for (var t = 0u; t < params.k; t += TILE) {
    let ak = t + lid.x;
    var av = 0.0;
    if (row < params.m && ak < params.k) { av = a[row * params.k + ak]; }
    tile_a[lid.y][lid.x] = av;
    let bk = t + lid.y;
    var bv = 0.0;
    if (bk < params.k && col < params.n) { bv = b[bk * params.n + col]; }
    tile_b[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var i = 0u; i < TILE; i++) {
      acc = acc + tile_a[lid.y][i] * tile_b[i][lid.x];
    }
    workgroupBarrier();
  }
  if (row < params.m && col < params.n) {
    if (params.has_bias != 0u) { acc = acc + bias[col]; }
    c[row * params.n + col] = acc;
  }
}
`;
}

/** Workgroup grid `[x, y]` covering `c[M, N]`. */
export function matmulGrid(m: number, n: number): [number, number] {
  return [Math.ceil(n / MATMUL_TILE), Math.ceil(m / MATMUL_TILE)];
}
