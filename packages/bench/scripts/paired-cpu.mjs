// Paired CPU-time comparison in one process: each round calls every row once, in rotating order, and
// records the process CPU time (user + system) of each call, so load from other processes on a busy
// machine barely moves the ratios (it moves wall time a lot). Rows: a bare onnxruntime-node session at
// 1 thread (the exported graph, fresh input tensor per call), and module.forward of wasm, tfjs-wasm,
// ort-web (onnxruntime-web's wasm build, 1 thread), ts.
// Also wall time of wasm vs wasm-threads (only meaningful on an idle machine).
// `node packages/bench/scripts/paired-cpu.mjs [small|gpt2-layer|long ...] [--rounds N] [--no-ts]` after `pnpm build`.
import { sessionOptions, createOrtBackend } from '../../backend-onnxruntime/dist/index.js';
import { initWeights, randomTensor, resolveConfig } from '../../core/dist/index.js';
import { exportOnnx, MODULE_NAMES } from '../../onnx/dist/index.js';
import { InferenceSession, Tensor } from 'onnxruntime-node';

const SHAPES = {
  small: { config: { dIn: 128, dOut: 128, heads: 4 }, B: 1, T: 128, rounds: 300 },
  'gpt2-layer': { config: { dIn: 768, dOut: 768, heads: 12, causal: true, qkvBias: true }, B: 1, T: 1024, rounds: 12 },
  long: { config: { dIn: 256, dOut: 256, heads: 4, causal: true }, B: 1, T: 4096, rounds: 4 },
};
const args = process.argv.slice(2);
const shapes = args.filter((a) => a in SHAPES);
const roundsArg = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : undefined;
const withTs = !args.includes('--no-ts');

const wasmPkg = await import('../../backend-wasm/dist/index.js');
const tfjsPkg = await import('../../backend-tfjs/dist/index.js');
const tsPkg = await import('../../backend-ts/dist/index.js');
const { ortWeb } = await import('@mha/backend-onnxruntime/web');

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

for (const name of shapes.length ? shapes : ['small', 'gpt2-layer']) {
  const s = SHAPES[name];
  const config = resolveConfig(s.config);
  const weights = initWeights(config, 1);
  const x = randomTensor([s.B, s.T, config.dIn], 2);
  const ort = createOrtBackend({ flavour: 'attention-op', intraOpNumThreads: 1 });
  const session = await InferenceSession.create(exportOnnx(config, weights, { flavour: 'attention-op' }), sessionOptions(ort.options));
  const rows = {
    'ort-bare-1t': () => session.run({ [MODULE_NAMES.input]: new Tensor('float32', x.data, x.shape) }, [MODULE_NAMES.output]),
  };
  const mods = [];
  const add = async (label, backend) => {
    const m = await backend.createModule(config, weights);
    mods.push(m);
    rows[label] = () => m.forward(x);
  };
  await add('wasm', wasmPkg.createWasmBackend());
  await add('wasm-simd', wasmPkg.createWasmBackend({ simd: 'simd' }));
  await add('tfjs-wasm', tfjsPkg.tfjsWasm);
  await add('ort-web', ortWeb);
  if (withTs && name !== 'long') await add('ts', tsPkg.tsBackend);
  const threaded = wasmPkg.createWasmBackend({ threads: 2 });
  const mt = await threaded.createModule(config, weights);
  const labels = Object.keys(rows);
  const cpu = Object.fromEntries(labels.map((l) => [l, []]));
  for (const l of labels) await rows[l](); // warm-up
  const rounds = roundsArg ?? s.rounds;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < labels.length; i++) {
      const l = labels[(i + r) % labels.length];
      const c0 = cpuMs();
      await rows[l]();
      cpu[l].push(cpuMs() - c0);
    }
  }
  // Wall time, wasm (plain SIMD, as the threads build) vs wasm-threads, alternating.
  const wall = { 'wasm-simd': [], 'wasm-threads': [] };
  const wallRows = { 'wasm-simd': rows['wasm-simd'], 'wasm-threads': () => mt.forward(x) };
  await wallRows['wasm-threads']();
  for (let r = 0; r < rounds; r++) {
    for (const l of r % 2 ? ['wasm-simd', 'wasm-threads'] : ['wasm-threads', 'wasm-simd']) {
      const t0 = performance.now();
      await wallRows[l]();
      wall[l].push(performance.now() - t0);
    }
  }
  const base = median(cpu['ort-bare-1t']);
  console.log(`\n${name}: B${s.B} T${s.T} D${config.dOut} H${config.heads}${config.causal ? ' causal' : ''}, ${rounds} rounds, CPU time per call (median), ratio to the bare ORT session at 1 thread`);
  for (const l of labels) console.log(`  ${l.padEnd(12)} ${median(cpu[l]).toFixed(3).padStart(10)} ms  ${(median(cpu[l]) / base).toFixed(2).padStart(6)}x`);
  console.log(`  wall, wasm-simd / wasm-threads (2 threads): ${median(wall['wasm-simd']).toFixed(2)} / ${median(wall['wasm-threads']).toFixed(2)} ms = ${(median(wall['wasm-simd']) / median(wall['wasm-threads'])).toFixed(2)}x speed-up (load average ${(await import('node:os')).loadavg()[0].toFixed(1)})`);
  for (const m of [...mods, mt]) await m.dispose();
  await threaded.dispose();
  await session.release();
}
