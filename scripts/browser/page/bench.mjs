// Times module.forward in the browser for the bench shapes (packages/bench's SHAPES and FLOP counts) on
// @mha/backend-webgpu and, for comparison, @mha/backend-ts. ?shapes=small,gpt2-layer&backends=webgpu,ts.
// Sampling: one cold call, one warm-up call, then timed calls for >= 2 s and >= 5 calls (>= 3 when a
// call takes over 2 s); the median is reported. Only forward(x) is timed (no weights, no trace).
import { load, runPage, say } from './harness.mjs';

runPage(async () => {
  const params = new URLSearchParams(location.search);
  const core = await load('@mha/core');
  const { SHAPES } = await load('/bench/shapes.js');
  const { shapeFlops, gflops } = await load('/bench/flops.js');
  const { createWebGpuBackend } = await load('@mha/backend-webgpu');
  const { tsBackend } = await load('@mha/backend-ts');
  const wanted = (params.get('shapes') ?? 'book,small,gpt2-layer').split(',');
  const backends = (params.get('backends') ?? 'webgpu,ts').split(',').map((name) => (name === 'ts' ? tsBackend : createWebGpuBackend()));
  const adapter = await navigator.gpu?.requestAdapter();
  say(`adapter: ${adapter ? `vendor ${adapter.info?.vendor}, architecture ${adapter.info?.architecture}, description ${adapter.info?.description || '-'}` : 'none'}`);
  const rows = [];
  for (const shape of SHAPES.filter((s) => wanted.includes(s.name))) {
    const config = core.resolveConfig(shape.config);
    const flops = shapeFlops(shape);
    const x = core.randomTensor([shape.batch, shape.tokens, config.dIn], 2);
    for (const backend of backends) {
      const module = await backend.createModule(config, core.initWeights(config, 1));
      const cold0 = performance.now();
      await module.forward(x);
      const cold = performance.now() - cold0;
      await module.forward(x);
      const times = [];
      const start = performance.now();
      while (true) {
        const t0 = performance.now();
        await module.forward(x);
        times.push(performance.now() - t0);
        const elapsed = performance.now() - start;
        if ((elapsed >= 2000 && times.length >= 5) || (times.length >= 3 && times[0] > 2000)) break;
      }
      await module.dispose();
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      // Causal shapes count only the keys a query sees (the kernels skip the rest), as pnpm bench's 'half'.
      const total = flops.half;
      const row = { backend: backend.name, shape: shape.name, medianMs: median, minMs: times[0], maxMs: times.at(-1), calls: times.length, coldMs: cold, gflops: gflops(total, median) };
      rows.push(row);
      say(`${row.backend.padEnd(7)} ${row.shape.padEnd(11)} median ${median.toFixed(2)} ms (min ${row.minMs.toFixed(2)}, max ${row.maxMs.toFixed(2)}, ${row.calls} calls, cold ${cold.toFixed(1)} ms), ${median > 0 ? `${row.gflops.toFixed(2)} GFLOP/s (half)` : 'below the timer resolution'}`);
    }
  }
  for (const b of backends) await b.dispose();
  return { ok: true, rows };
});
