// GFLOP/s of the GEMM kernel on an m x k @ k x n float32 product (default 1024^3), packed B, as the
// projections run it. A measurement, not a test: `node scripts/bench-gemm.mjs [size] [--simd|--relaxed]`
// after `pnpm --filter @mha/backend-wasm build`. Reports the median of timed calls and CPU time.
import { WasmRuntime, flavourSupported } from '../dist/runtime.js';

const size = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1024);
const flavour = process.argv.includes('--simd') ? 'simd' : process.argv.includes('--relaxed') || flavourSupported('relaxed') ? 'relaxed' : 'simd';
const rt = await WasmRuntime.create(flavour);
const [m, n, k] = [size, size, size];
const a = rt.arena.alloc(m * k * 4);
const b = rt.arena.alloc(k * n * 4);
const packed = rt.arena.alloc(rt.kernels.packedSize(k, n) * 4);
const c = rt.arena.alloc(m * n * 4);
const fill = (ptr, len) => {
  const v = rt.f32(ptr, len);
  for (let i = 0; i < len; i++) v[i] = Math.sin(i) * 0.5;
};
fill(a, m * k);
fill(b, k * n);
rt.kernels.packB(k, n, b, n, packed); // packing is the module's one-time cost, outside the timing
rt.f32(c, m * n).fill(NaN);
const run = () => rt.kernels.gemm(m, n, k, a, k, packed, 0, c, n);
run();
// A check that the kernel computed the product, on a few elements, so a broken build cannot report speed.
const A = rt.f32(a, m * k), B = rt.f32(b, k * n), C = rt.f32(c, m * n);
for (const [i, j] of [[0, 0], [m - 1, n - 1], [m >> 1, 7], [3, n - 5]]) {
  let s = 0;
  for (let t = 0; t < k; t++) s += A[i * k + t] * B[t * n + j];
  if (Math.abs(s - C[i * n + j]) > 1e-3 * Math.max(1, Math.abs(s))) throw new Error(`wrong result at ${i},${j}: ${C[i * n + j]} vs ${s}`);
}
const times = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
while (times.length < 5 || performance.now() - t0 < 3000) {
  const t = performance.now();
  run();
  times.push(performance.now() - t);
}
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
times.sort((x, y) => x - y);
const med = times[times.length >> 1];
const flop = 2 * m * n * k;
const cpuMs = (cpu.user + cpu.system) / 1000 / times.length;
console.log(`gemm ${m}x${k}x${n} ${flavour}: median ${med.toFixed(1)} ms = ${(flop / med / 1e6).toFixed(1)} GFLOP/s (best ${(flop / times[0] / 1e6).toFixed(1)}; CPU time/call ${cpuMs.toFixed(1)} ms = ${(flop / cpuMs / 1e6).toFixed(1)} GFLOP/s; ${times.length} calls, CPU/wall ${((cpu.user + cpu.system) / 1000 / wall).toFixed(2)})`);
