/**
 * Decode cells (issue 14), through the core op with a KV cache: `node dist/decode.js [--json file]`.
 * For every backend of the repository (and template modules skipped):
 * - `step-1024`: one new token attending 1,024 cached tokens at GPT-2-layer width (12 heads x 64):
 *   `attention(q [1,12,1,64], k/v [1,12,1,64], { pastKey/pastValue [1,12,1024,64] })`, median ms;
 * - `gen-256`: 256 tokens from a 16-token prompt: a causal prefill of 16, then 256 steps each feeding the
 *   previous `presentKey/presentValue` back, tokens/s over the 256 steps.
 * - `cache-step-1024`: the same step through a preallocated `KvCache` (only the new token validated and
 *   appended; the cache truncated back to 1,024 after each step).
 * The projections (x Wq etc.) are not part of these cells: the module-level cache is not in the contract
 * yet. PyTorch's numbers come from scripts/decode-torch.py (same shapes, same scope, and the full layer step).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createKvCache, randomTensor, type MhaBackend, type Tensor } from '@mha/core';
import { isTemplateModule, loadBackends, repoBackendModules } from './discover.js';
import { median } from './sampling.js';

const H = 12;
const D = 64;

/** Five warm-up calls, then at least 20 timed calls (up to 500 within about 2 s): the median and the count. */
async function timeCalls(run: () => Promise<unknown>): Promise<{ medianMs: number; samples: number }> {
  for (let i = 0; i < 5; i++) await run();
  const times: number[] = [];
  const until = performance.now() + 2000;
  while (times.length < 20 || (performance.now() < until && times.length < 500)) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), samples: times.length };
}

async function step1024(b: MhaBackend): Promise<{ medianMs: number; samples: number }> {
  const past = 1024;
  const pastKey = randomTensor([1, H, past, D], 1);
  const pastValue = randomTensor([1, H, past, D], 2);
  const q = randomTensor([1, H, 1, D], 3);
  const k = randomTensor([1, H, 1, D], 4);
  const v = randomTensor([1, H, 1, D], 5);
  const run = () => b.attention(q, k, v, { causal: true, pastKey, pastValue });
  return timeCalls(run);
}

async function cacheStep1024(b: MhaBackend): Promise<{ medianMs: number; samples: number }> {
  const cache = createKvCache({ batch: 1, kvHeads: H, capacity: 1025, keyDim: D, valueDim: D });
  cache.append(randomTensor([1, H, 1024, D], 1), randomTensor([1, H, 1024, D], 2));
  const q = randomTensor([1, H, 1, D], 3);
  const k = randomTensor([1, H, 1, D], 4);
  const v = randomTensor([1, H, 1, D], 5);
  const run = async () => {
    await b.attention(q, k, v, { causal: true, cache });
    cache.truncate(1024);
  };
  return timeCalls(run);
}

async function gen256(b: MhaBackend): Promise<{ tokensPerSecond: number; msPerToken: number }> {
  const prompt = 16;
  const steps = 256;
  const q = randomTensor([1, H, prompt, D], 6);
  const k = randomTensor([1, H, prompt, D], 7);
  const v = randomTensor([1, H, prompt, D], 8);
  const empty = (): Tensor => ({ data: new Float32Array(0), shape: [1, H, 0, D] });
  const once = async () => {
    let r = await b.attention(q, k, v, { causal: true, pastKey: empty(), pastValue: empty() });
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const x = randomTensor([1, H, 1, D], 100 + s);
      r = await b.attention(x, x, x, { causal: true, pastKey: r.presentKey, pastValue: r.presentValue });
    }
    return performance.now() - t0;
  };
  await once();
  const ms = Math.min(await once(), await once());
  return { tokensPerSecond: (steps * 1000) / ms, msPerToken: ms / steps };
}

async function main(): Promise<void> {
  const json = process.argv.indexOf('--json');
  const rows: Record<string, unknown>[] = [];
  for (const m of repoBackendModules()) {
    if (isTemplateModule(m)) continue;
    for (const b of await loadBackends(m.module)) {
      try {
        const s = await step1024(b);
        const cs = await cacheStep1024(b);
        const g = await gen256(b);
        const row = { backend: b.name, step1024Ms: Number(s.medianMs.toFixed(3)), samples: s.samples, cacheStep1024Ms: Number(cs.medianMs.toFixed(3)), gen256TokensPerSecond: Math.round(g.tokensPerSecond), gen256MsPerToken: Number(g.msPerToken.toFixed(3)) };
        rows.push(row);
        console.log(`${b.name.padEnd(18)} step-1024 ${row.step1024Ms.toFixed(3).padStart(8)} ms   cache-step-1024 ${row.cacheStep1024Ms.toFixed(3).padStart(8)} ms   gen-256 ${String(row.gen256TokensPerSecond).padStart(6)} tok/s (${row.gen256MsPerToken} ms/token)`);
      } finally {
        await b.dispose();
      }
    }
  }
  if (json > 0 && process.argv[json + 1]) writeFileSync(process.argv[json + 1]!, `${JSON.stringify({ date: new Date().toISOString(), loadAverage1m: Number(loadavg()[0]!.toFixed(1)), rows }, null, 2)}\n`);
  process.exit(0);
}

await main();
