import { ATTENTION_PARAMS, attentionBindings, attentionFlashWgsl, attentionGrid, attentionVariantKey, type AttentionVariant } from './kernels/attention-flash.js';
import { attentionFlashTiledWgsl, tiledBindings, tiledBlocks, tiledVariant, tiledVariantKey } from './kernels/attention-flash-tiled.js';
import { MATMUL_BINDINGS, MATMUL_PARAMS, matmulGrid, matmulTiledWgsl } from './kernels/matmul-tiled.js';
import { unavailable } from './device.js';
import type { GpuContext } from './gpu-context.js';

type AttentionParams = Parameters<typeof ATTENTION_PARAMS.pack>[0];

function bindGroup(ctx: GpuContext, pipeline: GPUComputePipeline, names: readonly string[], buffers: Readonly<Record<string, GPUBuffer | undefined>>): GPUBindGroup {
  return ctx.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: names.map((name, binding) => {
      const buffer = buffers[name];
      if (buffer === undefined) throw new Error(`internal: no buffer bound to '${name}'`);
      return { binding, resource: { buffer } };
    }),
  });
}

/** Encodes `c[M, N] = a[M, K] b[K, N] (+ bias)`; `uniform` receives the sizes. */
export function encodeMatmul(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  uniform: GPUBuffer,
  dims: { m: number; n: number; k: number },
  buffers: { a: GPUBuffer; b: GPUBuffer; bias?: GPUBuffer | undefined; c: GPUBuffer },
): void {
  const pipeline = ctx.pipeline('matmul-tiled', matmulTiledWgsl);
  ctx.device.queue.writeBuffer(uniform, 0, MATMUL_PARAMS.pack({ ...dims, has_bias: buffers.bias ? 1 : 0 }));
  const [x, y] = matmulGrid(dims.m, dims.n);
  const max = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  if (x > max || y > max) throw unavailable('dispatch', [x, y], `a [${dims.m}, ${dims.n}] matmul needs more than ${max} workgroups in one dimension`);
  const pass = encoder.beginComputePass({ label: 'matmul-tiled' });
  pass.setPipeline(pipeline);
  // Without a bias the kernel never reads binding 3; any storage buffer satisfies the layout.
  pass.setBindGroup(0, bindGroup(ctx, pipeline, MATMUL_BINDINGS, { params: uniform, ...buffers, bias: buffers.bias ?? buffers.b }));
  pass.dispatchWorkgroups(x, y);
  pass.end();
}

/** Which attention kernel runs: the query-tiled one where it applies (`auto`), or always the per-row one. */
export type AttentionKernelChoice = 'auto' | 'per-row';

/**
 * Encodes one attention call over `params.rows` query rows: the query-tiled kernel when weights are not
 * requested and both head sizes are at most 128 (unless `choice` is `per-row`), else the per-row kernel.
 */
export function encodeAttention(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  uniform: GPUBuffer,
  variant: AttentionVariant,
  params: AttentionParams,
  buffers: { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; out: GPUBuffer; mask?: GPUBuffer | undefined; weights?: GPUBuffer | undefined },
  choice: AttentionKernelChoice = 'auto',
): void {
  ctx.device.queue.writeBuffer(uniform, 0, ATTENTION_PARAMS.pack(params));
  const maxDim = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  const tiled = choice === 'auto' ? tiledVariant(variant, params.dk, params.dv) : undefined;
  const [label, pipeline, names, units] = tiled
    ? (['attention-flash-tiled', ctx.pipeline(tiledVariantKey(tiled), () => attentionFlashTiledWgsl(tiled)), tiledBindings(tiled), tiledBlocks(params.rows, params.tq)] as const)
    : (['attention-flash', ctx.pipeline(attentionVariantKey(variant), () => attentionFlashWgsl(variant)), attentionBindings(variant), params.rows] as const);
  const grid = attentionGrid(units, maxDim);
  if (grid === undefined) throw unavailable('dispatch', params.rows, 'too many query rows for one dispatch on this device');
  const pass = encoder.beginComputePass({ label });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup(ctx, pipeline, names, { params: uniform, ...buffers }));
  pass.dispatchWorkgroups(grid[0], grid[1]);
  pass.end();
}
