/**
 * What `@mha/backend-webgpu`'s kernel design should reach on a real GPU (issue 15), from the shapes alone:
 * FLOPs, the minimum memory traffic, and the storage-buffer bytes its kernels request. A run on real
 * hardware (`pnpm bench:browser -- --gpu`) compares with these; SwiftShader timings are a functional check.
 *
 * The design modelled (packages/backend-webgpu/src/kernels, float32, every load bounds-checked):
 * - module forward = matmul `x [B*T, dIn] @ [wq|wk|wv] (+ bias)`, the attention kernel, matmul `ctx @ wo (+ bias)`;
 * - tiled matmul, 16 x 16 output tiles, one output per thread: each tile reads its 16 rows of `a` and
 *   16 columns of `b` over all of K, so `a` is read once per column tile and `b` once per row tile; each
 *   output element is written once and reads its bias once;
 * - query-tiled flash attention (head sizes <= 128, no weights): a workgroup owns 32 query rows of one head,
 *   reads their q once, stages K and V in tiles up to the block's last visible key (causal: top-left
 *   aligned in a forward, so later tiles are never read), and writes the context once: each K/V element is
 *   read once per 32-row query block that sees it. Heads wider than 128 use the per-row kernel, which reads
 *   K and V once per query row.
 */
import { resolveConfig, type MhaConfig } from '@mha/core';

/** Query rows per workgroup of the tiled attention kernel (`BLOCK_Q` in attention-flash-tiled.ts). */
export const GPU_QUERY_BLOCK = 32;
/** Matmul output tile edge (`MATMUL_TILE` in matmul-tiled.ts). */
export const GPU_MATMUL_TILE = 16;
/** Largest head size of the tiled attention kernel (`TILED_MAX_HEAD_DIM`). */
export const GPU_TILED_MAX_HEAD_DIM = 128;
const F32 = 4;

/** An example GPU for the time bounds: float32 throughput and memory bandwidth (a mid-range discrete card). */
export const EXAMPLE_GPU = { tflops: 5, gbPerSecond: 300 } as const;

/** Bytes a tiled matmul `c[M, N] = a[M, K] b[K, N] (+ bias)` requests from storage buffers. */
export function matmulBytes(m: number, k: number, n: number, bias: boolean): number {
  const rowTiles = Math.ceil(m / GPU_MATMUL_TILE);
  const colTiles = Math.ceil(n / GPU_MATMUL_TILE);
  return F32 * (colTiles * m * k + rowTiles * k * n + m * n + (bias ? m * n : 0));
}

/**
 * Bytes the attention kernel requests for `batch * heads` heads of `tq` queries over `tk` keys: q read
 * once, the context written once, K and V read once per query block (per row above head size 128) up to
 * the block's last visible key. Causal rows see keys up to `i + (tk - tq)` (bottom-right aligned, which is
 * top-left when `tq = tk`).
 */
export function attentionBytes(batch: number, heads: number, tq: number, tk: number, headDim: number, causal: boolean): number {
  const block = headDim <= GPU_TILED_MAX_HEAD_DIM ? GPU_QUERY_BLOCK : 1;
  let keyRows = 0;
  for (let q0 = 0; q0 < tq; q0 += block) {
    const last = Math.min(q0 + block, tq) - 1;
    keyRows += causal ? Math.min(tk, last + 1 + (tk - tq)) : tk;
  }
  return F32 * batch * heads * (2 * tq * headDim + 2 * keyRows * headDim);
}

/** What one forward (or one decode step) should cost on a GPU, per the design above. */
export interface GpuExpectation {
  readonly name: string;
  readonly description: string;
  /** Projection FLOPs (multiply-add = 2), as the bench counts them. */
  readonly projectionFlops: number;
  /** Attention FLOPs over the visible keys only (what the causal kernel does). */
  readonly attentionFlops: number;
  /** x (and, for a decode step, the cached keys and values) read once, weights and biases read once, output written once. */
  readonly minimumBytes: number;
  /** The fused attention kernel's own minimum: q, k, v read once, the context written once. */
  readonly attentionMinimumBytes: number;
  /** Bytes the design's matmuls request. */
  readonly matmulBytes: number;
  /** Bytes the design's attention kernel requests. */
  readonly attentionBytes: number;
}

function weightBytes(c: ReturnType<typeof resolveConfig>): number {
  const proj = c.dIn * c.dOut * 3 + (c.qkvBias ? 3 * c.dOut : 0);
  const out = c.outProj ? c.dOut * c.dOut + (c.outProjBias ? c.dOut : 0) : 0;
  return F32 * (proj + out);
}

/**
 * The expectation for a module forward on `[batch, tokens, dIn]`, or for one decode step of `tokens` new
 * tokens over `cached` keys (`forward(x, { cache })`: the projections of the new tokens, attention over
 * cached + new keys, the new keys and values written to the cache).
 */
export function gpuExpectation(
  name: string,
  description: string,
  shape: { readonly batch: number; readonly tokens: number; readonly config: MhaConfig },
  cached = 0,
): GpuExpectation {
  const c = resolveConfig(shape.config);
  const B = shape.batch;
  const tq = shape.tokens;
  const tk = cached + tq;
  const dh = c.headDim;
  const rows = B * tq;
  const projectionFlops = 2 * rows * c.dIn * c.dOut * 3 + (c.outProj ? 2 * rows * c.dOut * c.dOut : 0);
  let pairs = 0;
  for (let i = 0; i < tq; i++) pairs += c.causal ? Math.min(tk, i + 1 + cached) : tk;
  const attentionFlops = 4 * B * c.heads * pairs * dh;
  const io = F32 * rows * (c.dIn + c.dOut);
  const cache = F32 * B * c.heads * (2 * cached * dh + 2 * tq * dh);
  return {
    name,
    description,
    projectionFlops,
    attentionFlops,
    minimumBytes: io + weightBytes(c) + (cached > 0 ? cache : 0),
    attentionMinimumBytes: F32 * B * c.heads * (2 * tq * dh + 2 * tk * dh),
    matmulBytes: matmulBytes(rows, c.dIn, 3 * c.dOut, c.qkvBias) + (c.outProj ? matmulBytes(rows, c.dOut, c.dOut, c.outProjBias) : 0),
    attentionBytes: attentionBytes(B, c.heads, tq, tk, dh, c.causal),
  };
}

/** Milliseconds bounds on {@link EXAMPLE_GPU}: arithmetic, and memory for the minimum and the requested bytes. */
export function exampleGpuBoundsMs(e: GpuExpectation): { computeMs: number; minimumMemoryMs: number; requestedMemoryMs: number } {
  const flops = e.projectionFlops + e.attentionFlops;
  return {
    computeMs: flops / (EXAMPLE_GPU.tflops * 1e9),
    minimumMemoryMs: e.minimumBytes / (EXAMPLE_GPU.gbPerSecond * 1e6),
    requestedMemoryMs: (e.matmulBytes + e.attentionBytes) / (EXAMPLE_GPU.gbPerSecond * 1e6),
  };
}
