// The online-softmax kernel (assembly/attention-flash-f32x4.ts, the path without weights for Tk > 16)
// against core's float64 reference, on inputs aimed at its block structure (64 keys): sizes around the block edges, a
// running max that grows in every block (the rescale), rows whose first blocks are all masked (the
// -Infinity running max), fully masked rows, float32-lowest and -Infinity additive masks, soft-capping,
// scale 0 and negative scales, logits of +-1e4 and T = 1031. Every case also runs with weights (the
// two-pass kernel), against the same oracle. Plain SIMD here; the relaxed build runs this file in
// relaxed-simd.test.ts (Node 20 needs a flag for it).
import { initWeights, randomTensor, referenceAttention, referenceForward, resolveConfig, type AttentionMask, type AttentionOptions, type Tensor } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createWasmBackend } from './index.js';
import { flavourSupported, type SimdFlavour } from './runtime.js';
import { expectClose } from './test-support/compare.js';

/** The builds this process can run; `MHA_WASM_TEST_FLAVOUR` narrows it to one (the relaxed child run). */
const flavours = (['simd', 'relaxed'] as SimdFlavour[]).filter((f) => flavourSupported(f) && (process.env.MHA_WASM_TEST_FLAVOUR ?? f) === f);
const LOWEST = -3.4028234663852886e38;

const tensor = (shape: number[], value: (i: number) => number): Tensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(i)) });
const bool = (shape: number[], keep: (i: number) => boolean): AttentionMask => ({ kind: 'bool', shape, data: Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (keep(i) ? 1 : 0)) });
const additive = (shape: number[], value: (i: number) => number): AttentionMask => ({ kind: 'additive', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(i)) });

interface Case {
  readonly name: string;
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly options: AttentionOptions;
}

let seed = 100;
/** Random q / k / v of `[B, H, T, d]` shapes (q and k scaled by `mag`). */
function random(name: string, qs: number[], ks: number[], vs: number[], options: AttentionOptions, mag = 1): Case {
  seed += 3;
  return { name, q: randomTensor(qs, seed, mag), k: randomTensor(ks, seed + 1, mag), v: randomTensor(vs, seed + 2), options };
}

/**
 * One query head, dk = 1, q = 1e4 and key j = `key(j)` (exact in float32), so score j = 1e4 * key(j)
 * exactly: the softmax is decided by the scores alone.
 */
function exact(name: string, tq: number, tk: number, key: (j: number) => number, options: AttentionOptions = {}): Case {
  return { name, q: tensor([1, 1, tq, 1], () => 1e4), k: tensor([1, 1, tk, 1], key), v: tensor([1, 1, tk, 3], (i) => Math.sin(i * 0.37) + (i % 3)), options };
}

const cases: Case[] = [
  ...[1, 3, 63, 64, 65, 127, 128, 129, 200].map((t) => random(`self T${t}, d 7 / dv 13`, [1, 2, t, 7], [1, 2, t, 7], [1, 2, t, 13], {})),
  ...[1, 4, 63, 65, 130, 197].map((t) => random(`causal T${t}, d 16`, [2, 1, t, 16], [2, 1, t, 16], [2, 1, t, 16], { causal: true })),
  random('cross Tq 5, Tk 150, causal top-left', [1, 2, 5, 8], [1, 2, 150, 8], [1, 2, 150, 8], { causal: true }),
  random('cross Tq 150, Tk 70, causal', [1, 1, 150, 8], [1, 1, 70, 8], [1, 1, 70, 8], { causal: true }),
  random('gqa 6/2, Tk 140, causal, dv 5', [1, 6, 140, 9], [1, 2, 140, 9], [1, 2, 140, 5], { causal: true }),
  random('T 1031, d 64, causal', [1, 1, 1031, 64], [1, 1, 1031, 64], [1, 1, 1031, 64], { causal: true }),
  random('large logits (inputs 1e3), T 200', [1, 1, 40, 8], [1, 1, 200, 8], [1, 1, 200, 8], {}, 1e3),
  // The running max grows in every block, by 39.0625 per key: earlier blocks must be rescaled to ~0.
  exact('running max grows every key (logits up to 1e4)', 9, 257, (j) => j / 256),
  exact('running max grows, causal', 200, 200, (j) => j / 256, { causal: true }),
  // Block maxima rising slowly (0.25 per block), so every block keeps a visible share after rescaling.
  exact('running max grows by a little per block', 3, 300, (j) => (Math.floor(j / 64) * 0.25 + (j % 7) * 0.01) / 1e4),
  exact('max in the first block, then falling', 3, 300, (j) => -j / 1024),
  exact('logits +-1e4 alternating', 5, 150, (j) => (j % 2 ? 1 : -1) * (j % 5 === 0 ? 0.5 : 1)),
  random('scale 0, T 150', [1, 1, 7, 4], [1, 1, 150, 4], [1, 1, 150, 4], { scale: 0 }),
  random('negative scale, T 150', [1, 1, 7, 4], [1, 1, 150, 4], [1, 1, 150, 4], { scale: -0.9 }),
  random('softcap 1.5 with scale 4, T 150, causal', [1, 2, 150, 8], [1, 2, 150, 8], [1, 2, 150, 8], { softcap: 1.5, scale: 4, causal: true }),
  exact('softcap 30 on logits of +-1e4 growing per block', 4, 200, (j) => (j % 64) / 64 - 0.5 + Math.floor(j / 64) / 8, { softcap: 30 }),
  // Row 0 sees nothing, row 1 only keys >= 130 (two all-masked blocks first), row 2 only key 199, row 3 all.
  random('bool mask: empty row, first blocks masked', [1, 1, 4, 8], [1, 1, 200, 8], [1, 1, 200, 8], { mask: bool([4, 200], (i) => { const r = Math.floor(i / 200), j = i % 200; return r === 1 ? j >= 130 : r === 2 ? j === 199 : r === 3; }) }),
  // Same pattern with -Infinity, plus float32 lowest (a number that is added: a row of it is uniform).
  random('additive: -Infinity blocks, rows of float32 lowest', [1, 1, 4, 8], [1, 1, 200, 8], [1, 1, 200, 8], {
    mask: additive([4, 200], (i) => {
      const r = Math.floor(i / 200), j = i % 200;
      if (r === 0) return -Infinity;
      if (r === 1) return j < 130 ? -Infinity : LOWEST;
      if (r === 2) return LOWEST;
      return j % 3 === 0 ? -Infinity : (j % 5) - 2;
    }),
  }),
  random('additive lowest in early blocks, 0 later (the max jumps by 3.4e38)', [1, 1, 3, 8], [1, 1, 200, 8], [1, 1, 200, 8], { mask: additive([1, 200], (j) => (j < 100 ? LOWEST : 0)) }),
  random('bool mask, causal, gqa per-head mask, softcap', [1, 4, 70, 8], [1, 2, 70, 8], [1, 2, 70, 8], { causal: true, softcap: 2, mask: bool([4, 70, 70], (i) => (i * 7) % 11 !== 0) }),
];

for (const flavour of flavours) {
  describe(`online softmax, ${flavour} build`, () => {
    const backend = createWasmBackend({ simd: flavour });
    afterAll(() => backend.dispose());
    for (const c of cases) {
      it(c.name, async () => {
        const ref = referenceAttention(c.q, c.k, c.v, c.options);
        const plain = await backend.attention(c.q, c.k, c.v, c.options);
        expectClose(plain.output.data, ref.output.data, `${c.name}: output without weights`);
        const withWeights = await backend.attention(c.q, c.k, c.v, { ...c.options, returnWeights: true });
        expectClose(withWeights.output.data, ref.output.data, `${c.name}: output with weights`);
        expectClose(withWeights.weights!.data, ref.weights.data, `${c.name}: weights`, false);
      });
    }

    it('a module forward without weights, gpt2-like head size and T 300, causal', async () => {
      const config = resolveConfig({ dIn: 128, dOut: 128, heads: 2, causal: true, qkvBias: true });
      const weights = initWeights(config, 5);
      const x = randomTensor([1, 300, 128], 6);
      const m = await backend.createModule(config, weights);
      const r = await m.forward(x);
      expectClose(r.output.data, referenceForward(config, weights, x).output.data, 'module output');
      await m.dispose();
    });

    it('work memory does not grow with Tk per query tile', async () => {
      // Two calls that differ only in Tk: the arena's high-water mark grows by the packed K and V
      // (Tk * (dk + dv) floats) and the inputs, nothing quadratic and no Tk-long score row.
      const peak = async (tk: number) => {
        const b = createWasmBackend({ simd: flavour });
        await b.attention(randomTensor([1, 1, 4, 8], 1), randomTensor([1, 1, tk, 8], 2), randomTensor([1, 1, tk, 8], 3), {});
        const bytes = b.diagnostics().wasmMemoryBytes as number;
        await b.dispose();
        return bytes;
      };
      expect(await peak(1 << 16)).toBeLessThanOrEqual((await peak(16)) + 4 * (1 << 16) * (8 + 8 + 8 + 8) + (1 << 16) * 2);
    });
  });
}
