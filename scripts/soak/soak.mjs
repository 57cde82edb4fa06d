#!/usr/bin/env node
// Soak run (issue 7): for every backend of the repository, in its own child process,
// 10,000 forwards on one module, 200 create/forward/dispose cycles, then dispose everything, and check
// that the backend's live-resource counters (tfjs tensors, onnxruntime sessions) return to their
// baseline and that RSS stays bounded after warm-up. Not a timed test: it reports what it measured.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const conformance = await import(pathToFileURL(join(root, 'conformance', 'dist', 'index.js')).href);
const args = process.argv.slice(2);
const forwards = Number(args.find((a) => a.startsWith('--forwards='))?.split('=')[1] ?? 10_000);
const cycles = Number(args.find((a) => a.startsWith('--cycles='))?.split('=')[1] ?? 200);
/** RSS may grow this much between the end of warm-up and the end of the run (allocator noise, JIT). */
const RSS_BUDGET_MB = 64;

async function child(spec, name) {
  const core = await import(pathToFileURL(join(root, 'packages', 'core', 'dist', 'index.js')).href);
  const backend = (await conformance.loadBackends(spec)).find((b) => b.name === name);
  const config = core.resolveConfig({ dIn: 32, heads: 4, headDim: 8, causal: true, qkvBias: true });
  const x = core.randomTensor([2, 16, 32], 1);
  const mb = () => process.memoryUsage().rss / 2 ** 20;
  // Warm-up, so lazily created backend state (tfjs kernels, wasm memory) counts in the baseline.
  const warm = await backend.createModule(config, core.initWeights(config, 1));
  await warm.forward(x, { returnAttentionWeights: true, trace: true });
  await warm.dispose();
  const baseline = backend.diagnostics();
  const m = await backend.createModule(config, core.initWeights(config, 2));
  const warmup = Math.min(500, forwards);
  let rssWarm = 0;
  const t0 = performance.now();
  for (let i = 0; i < forwards; i++) {
    await m.forward(x, i % 100 === 0 ? { returnAttentionWeights: true } : undefined);
    if (i === warmup - 1) rssWarm = mb();
  }
  const during = backend.diagnostics();
  await m.dispose();
  for (let i = 0; i < cycles; i++) {
    const c = await backend.createModule(config, core.initWeights(config, 3 + i));
    await c.forward(x);
    await c.dispose();
  }
  await backend.dispose();
  const after = backend.diagnostics();
  const rssEnd = mb();
  const leaks = Object.keys({ ...baseline, ...after }).filter((k) => (after[k] ?? 0) > (baseline[k] ?? 0));
  return { name, forwards, cycles, ms: performance.now() - t0, baseline, during, after, rssWarm, rssEnd, leaks };
}

if (process.env.MHA_SOAK_CHILD) {
  const [spec, name] = JSON.parse(process.env.MHA_SOAK_CHILD);
  process.stdout.write(JSON.stringify(await child(spec, name)));
  process.exit(0);
}

const rows = [];
let failed = false;
for (const spec of conformance.repoBackendModules(root)) {
  for (const b of await conformance.loadBackends(spec)) {
    if (b.name === 'template') continue; // the naive example backend: nothing to leak
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      env: { ...process.env, MHA_SOAK_CHILD: JSON.stringify([spec, b.name]) },
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    if (r.status !== 0) {
      failed = true;
      console.log(`FAIL ${b.name}: exited ${r.status}\n${r.stderr}`);
      continue;
    }
    const res = JSON.parse(r.stdout);
    const growth = res.rssEnd - res.rssWarm;
    const ok = res.leaks.length === 0 && growth <= RSS_BUDGET_MB;
    failed ||= !ok;
    rows.push({ ...res, growth, ok });
  }
}
const fmt = (o) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' ') || '-';
console.log(`soak: ${forwards} forwards (every 100th with attention weights) + ${cycles} create/forward/dispose cycles per backend, B2 T16 dIn32 H4`);
console.log('backend            time s   counters before / during / after dispose        RSS after warm-up -> end (MB)   result');
for (const r of rows) {
  console.log(
    `${r.name.padEnd(18)} ${(r.ms / 1000).toFixed(1).padStart(6)}   ${`${fmt(r.baseline)} / ${fmt(r.during)} / ${fmt(r.after)}`.padEnd(44)} ${`${r.rssWarm.toFixed(0)} -> ${r.rssEnd.toFixed(0)} (+${r.growth.toFixed(1)})`.padEnd(31)} ${r.ok ? 'ok' : `FAIL${r.leaks.length ? ` leaked ${r.leaks.join(',')}` : ''}${r.growth > RSS_BUDGET_MB ? ` RSS +${r.growth.toFixed(0)} MB > ${RSS_BUDGET_MB}` : ''}`}`,
  );
}
process.exit(failed ? 1 : 0);
