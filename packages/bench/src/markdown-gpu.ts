import { DECODE_CONFIG, STEP_CACHE_LENGTHS } from './decode-cells.js';
import { fmtBytes, fmtFlops, fmtNum, markdownTable } from './format.js';
import { EXAMPLE_GPU, exampleGpuBoundsMs, GPU_MATMUL_TILE, GPU_QUERY_BLOCK, gpuExpectation, type GpuExpectation } from './gpu-expectations.js';
import type { ShapeRecord } from './results.js';

/** The expectations for a run's shapes, then one decode step at gpt2-layer width over the longer step cache. */
export function gpuExpectations(shapes: readonly ShapeRecord[]): GpuExpectation[] {
  const cached = STEP_CACHE_LENGTHS[1];
  return [
    ...shapes.map((s) => gpuExpectation(s.name, s.description, s)),
    gpuExpectation(`decode step (${cached.toLocaleString('en-US')} cached)`, 'one new token, gpt2-layer width', { batch: 1, tokens: 1, config: DECODE_CONFIG }, cached),
  ];
}

/** BENCHMARKS.md's WebGPU section (issue 15): what the kernel design should reach on a real GPU. */
export function gpuSection(shapes: readonly ShapeRecord[]): string[] {
  const rows = gpuExpectations(shapes).map((e) => {
    const requested = e.matmulBytes + e.attentionBytes;
    const t = exampleGpuBoundsMs(e);
    return [
      e.name,
      fmtFlops(e.projectionFlops),
      fmtFlops(e.attentionFlops),
      fmtBytes(e.minimumBytes),
      fmtBytes(e.attentionMinimumBytes),
      fmtBytes(e.matmulBytes),
      fmtBytes(e.attentionBytes),
      fmtNum((e.projectionFlops + e.attentionFlops) / requested),
      fmtNum(t.computeMs * 1000),
      fmtNum(t.minimumMemoryMs * 1000),
      fmtNum(t.requestedMemoryMs * 1000),
    ];
  });
  const header = ['shape', 'projection FLOPs', 'attention FLOPs', 'minimum bytes', 'attention kernel minimum', 'matmul bytes requested', 'attention bytes requested', 'FLOP per requested byte', 'µs compute', 'µs minimum bytes', 'µs requested bytes'];
  return [
    '## WebGPU: what the kernel design should reach on a GPU (issue 15)',
    '',
    '`@mha/backend-webgpu` runs in browsers only, and CI has no GPU: it is tested on SwiftShader (the GPU APIs emulated on the CPU), whose timings (`pnpm bench:browser`) are a functional check and say nothing about a real GPU. ' +
      'These figures are computed from the shapes (packages/bench/src/gpu-expectations.ts), not measured, so that a run on real hardware (`pnpm bench:browser -- --gpu`) can be compared with them.',
    '',
    '- **FLOPs** as the bench counts them (multiply-add = 2); attention over the visible keys only (the causal kernel never visits later tiles).',
    '- **minimum bytes**: the forward\'s unavoidable float32 traffic: x read once, the weights and biases read once, the output written once (a decode step also reads the cached keys and values once and writes the new ones). **attention kernel minimum**: the fused attention kernel alone: q, k, v read once, the context written once (no `[T, T]` buffer).',
    `- **requested bytes**: the storage-buffer reads and writes the current kernels issue (every load bounds-checked): the projections are ${GPU_MATMUL_TILE} x ${GPU_MATMUL_TILE}-tile matmuls, which read \`a\` once per column tile, \`b\` once per row tile and the bias once per output; attention reads each K/V element once per ${GPU_QUERY_BLOCK}-row query block that sees it (once per query row above head size 128), q once, and writes the context once. GPU caches serve part of the matmul re-reads, so real traffic lies between the two byte columns.`,
    `- **µs**: lower bounds on an example GPU with ${EXAMPLE_GPU.tflops} TFLOP/s float32 and ${EXAMPLE_GPU.gbPerSecond} GB/s: arithmetic, minimum traffic, requested traffic. A forward cannot beat the largest of the first two; the kernels as designed should land near the larger of the compute and requested-traffic bounds plus dispatch and readback latency (three dispatches and one \`mapAsync\` per forward, tens of microseconds), which dominates book and small. A result far above points at the matmul tiling first.`,
    '- The **decode step** row assumes the cache lives on the GPU. Today a cached forward is lowered by core onto the backend\'s core op with the whole cache gathered on the host, so each step also uploads the cache (its size again, over the host link): that row is the target for a GPU-resident cache, not for the current path.',
    '',
    markdownTable(header, rows, [false, ...header.slice(1).map(() => true)]),
    '',
  ];
}
