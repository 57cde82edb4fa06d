#!/usr/bin/env node
// Cost of core's private input copy (SPEC.md, "Inputs are read during the call") next to a `ts` forward of a
// GPT-2 layer (dIn = dOut = 768, 12 heads). Run after `pnpm build`: node scripts/input-copy/measure.mjs
import { initWeights, privateCopy, randomTensor, resolveConfig } from '../../packages/core/dist/index.js';
import { tsBackend } from '../../packages/backend-ts/dist/index.js';

const cfg = resolveConfig({ dIn: 768, dOut: 768, heads: 12, causal: true, qkvBias: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const T of [128, 1024]) {
  const x = randomTensor([1, T, 768], 1);
  const m = await tsBackend.createModule(cfg, initWeights(cfg, 2));
  await m.forward(x); // warm-up
  const copies = [];
  let sink = 0;
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    sink += privateCopy(Float32Array, x.data)[i];
    copies.push(performance.now() - t0);
  }
  const forwards = [];
  for (let i = 0; i < (T > 512 ? 3 : 10); i++) {
    const t0 = performance.now();
    await m.forward(x);
    forwards.push(performance.now() - t0);
  }
  await m.dispose();
  const c = median(copies);
  const f = median(forwards);
  console.log(`T=${T}: x ${(x.data.length * 4 / 1e6).toFixed(1)} MB, copy ${c.toFixed(3)} ms, ts forward ${f.toFixed(1)} ms (${((100 * c) / f).toFixed(3)}%)${sink === 0.5 ? ' ' : ''}`);
}
