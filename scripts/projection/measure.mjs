#!/usr/bin/env node
// Lowered module calls with and without the backend's native projection (BackendDefinition.createProjection):
// a GQA module (GPT-2 layer width: B1 T1024 D768, 12 heads, kvHeads 4, causal) and a cross-attention module
// (Tq 512, Tk 1024, D768, 12 heads). "before" is the same backend derived without the hook (core's one-key
// fallback, the path every lowered call took before). Pairs are interleaved (the machine is shared); the
// median wall time and the median process CPU time (user + system, all threads) of each side are printed.
// Run after `pnpm build`: node scripts/projection/measure.mjs [ts|ts-threads|wasm|wasm-threads|ort|tfjs ...] [--runs N]
import { deriveBackend, initWeights, randomTensor, resolveConfig } from '../../packages/core/dist/index.js';
import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 5;
const names = args.length ? args : ['ts', 'wasm', 'ort'];

async function backendFor(name) {
  if (name === 'ts' || name === 'ts-threads') {
    const m = await import('../../packages/backend-ts/dist/index.js');
    return name === 'ts' ? m.tsBackend : m.tsThreadsBackend;
  }
  if (name === 'wasm' || name === 'wasm-threads') {
    const m = await import('../../packages/backend-wasm/dist/index.js');
    return name === 'wasm' ? m.wasmBackend : m.wasmThreadsBackend;
  }
  if (name === 'ort') return (await import('../../packages/backend-onnxruntime/dist/index.js')).createOrtBackend({ flavour: 'attention-op' });
  if (name === 'tfjs') return (await import('../../packages/backend-tfjs/dist/index.js')).createTfjsBackend({ tfBackend: 'cpu' });
  throw new Error(`unknown backend ${name}`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function timed(m, x, options) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await m.forward(x, options);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

const cases = [
  { name: 'GQA B1 T1024 D768 h12 kv4 causal', config: { dIn: 768, dOut: 768, heads: 12, kvHeads: 4, causal: true, qkvBias: true }, x: randomTensor([1, 1024, 768], 1), options: {} },
  { name: 'cross B1 Tq512 Tk1024 D768 h12', config: { dIn: 768, dOut: 768, heads: 12, qkvBias: true }, x: randomTensor([1, 512, 768], 2), options: { key: randomTensor([1, 1024, 768], 3), value: randomTensor([1, 1024, 768], 4) } },
];

console.log(`node ${process.version}, ${runs} interleaved pairs per cell, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const name of names) {
  const after = await backendFor(name);
  const before = deriveBackend(after, { name: `${after.name}-one-key`, createProjection: undefined });
  for (const c of cases) {
    const cfg = resolveConfig(c.config);
    const w = initWeights(cfg, 5);
    const mA = await after.createModule(cfg, w);
    const mB = await before.createModule(cfg, w);
    const a0 = await mA.forward(c.x, c.options); // warm-up (creates the projections)
    const b0 = await mB.forward(c.x, c.options);
    let diff = 0;
    for (let i = 0; i < a0.output.data.length; i++) diff = Math.max(diff, Math.abs(a0.output.data[i] - b0.output.data[i]));
    const A = [];
    const B = [];
    for (let i = 0; i < runs; i++) {
      // Alternate which side goes first, so a load change hits both sides alike.
      if (i % 2) {
        B.push(await timed(mB, c.x, c.options));
        A.push(await timed(mA, c.x, c.options));
      } else {
        A.push(await timed(mA, c.x, c.options));
        B.push(await timed(mB, c.x, c.options));
      }
    }
    await mA.dispose();
    await mB.dispose();
    const f = (xs, k) => median(xs.map((r) => r[k])).toFixed(1);
    console.log(
      `${after.name.padEnd(16)} ${c.name.padEnd(34)} before wall ${f(B, 'wall')} ms cpu ${f(B, 'cpu')} ms | after wall ${f(A, 'wall')} ms cpu ${f(A, 'cpu')} ms | ` +
        `speed-up wall x${(median(B.map((r) => r.wall)) / median(A.map((r) => r.wall))).toFixed(2)} cpu x${(median(B.map((r) => r.cpu)) / median(A.map((r) => r.cpu))).toFixed(2)} | max |after - before| ${diff.toExponential(1)}`,
    );
  }
  await after.dispose();
}
console.log(`load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
