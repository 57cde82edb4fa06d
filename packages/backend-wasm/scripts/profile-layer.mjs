// Where a gpt2-layer forward (B1 T1024 D768 H12, causal) spends its time, phase by phase, in CPU time so
// a busy machine does not distort the split: the q|k|v GEMM, the fused attention and the output GEMM.
// A measurement, not a test: `node scripts/profile-layer.mjs [--simd|--relaxed]` after the build.
import { WasmRuntime, flavourSupported } from '../dist/runtime.js';

const flavour = process.argv.includes('--simd') ? 'simd' : process.argv.includes('--relaxed') || flavourSupported('relaxed') ? 'relaxed' : 'simd';
const rt = await WasmRuntime.create(flavour);
const k = rt.kernels;
const [T, D, H] = [1024, 768, 12];
const dh = D / H;
const alloc = (floats, fill = true) => {
  const p = rt.arena.alloc(floats * 4);
  if (fill) {
    const v = rt.f32(p, floats);
    for (let i = 0; i < floats; i++) v[i] = Math.sin(i * 0.7) * 0.3;
  }
  return p;
};
const x = alloc(T * D);
const wqkv = alloc(k.packedSize(D, 3 * D));
const wo = alloc(k.packedSize(D, D));
const bias = alloc(3 * D);
const qkv = alloc(T * 3 * D, false);
const merged = alloc(T * D, false);
const out = alloc(T * D, false);
const work = rt.arena.alloc(k.attentionScratchBytes(T, dh, dh, 0));
const phases = {
  'q|k|v GEMM (1024x768 @ 768x2304)': () => k.gemm(T, 3 * D, D, x, D, wqkv, bias, qkv, 3 * D),
  'attention (12 heads, causal)': () =>
    k.attention(1, H, H, T, T, dh, dh, qkv, T * 3 * D, dh, 3 * D, qkv + D * 4, T * 3 * D, dh, 3 * D, qkv + 2 * D * 4, T * 3 * D, dh, 3 * D, merged, T * D, dh, D, 1 / Math.sqrt(dh), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, work),
  'output GEMM (1024x768 @ 768x768)': () => k.gemm(T, D, D, merged, D, wo, bias, out, D),
};
const flops = { 'q|k|v GEMM (1024x768 @ 768x2304)': 2 * T * D * 3 * D, 'attention (12 heads, causal)': 4 * H * dh * (T * (T + 1)) / 2, 'output GEMM (1024x768 @ 768x768)': 2 * T * D * D };
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
for (const f of Object.values(phases)) f();
let total = 0;
const rows = [];
for (const [name, f] of Object.entries(phases)) {
  const c0 = cpu();
  let n = 0;
  while (n < 3 || cpu() - c0 < 1500) {
    f();
    n++;
  }
  const ms = (cpu() - c0) / n;
  total += ms;
  rows.push([name, ms]);
}
console.log(`gpt2-layer kernels, ${flavour} build, CPU time per call:`);
for (const [name, ms] of rows) console.log(`  ${name.padEnd(36)} ${ms.toFixed(1).padStart(7)} ms  ${((100 * ms) / total).toFixed(0).padStart(3)}%  ${(flops[name] / ms / 1e6).toFixed(1)} GFLOP/s`);
console.log(`  ${'total'.padEnd(36)} ${total.toFixed(1).padStart(7)} ms`);
