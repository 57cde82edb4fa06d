import { randomTensor, referenceAttention } from '@mha/core';
import { check, expectClose, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { coreOpCases, CAUSAL_ALIGNMENT_CASES } from './core-op-features.js';
import { caseParams, CAUSAL_GRID, materialise, perturbAfter, prefix, withModule, type ModuleCase } from '../util.js';

const SPEC = 'SPEC.md#causal-mask';

/** causal-mask: zero weight above the diagonal, rows sum to 1, prefix invariance, and non-causal mode sees the future. */
export function causalMaskCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  CAUSAL_GRID.forEach((c, i) => {
    const seed = 500 + i;
    cases.push({
      id: `causal-mask/zero-above-diagonal/${c.name}/${caseParams(c)}`,
      group: 'causal-mask',
      spec: SPEC,
      title: `weights are exactly 0 for keys after the query (${c.name})`,
      async run({ backend }) {
        const { config, weights, x } = materialise(c, seed);
        await withModule(backend, config, weights, async (m) => {
          const w = (await m.forward(x, { returnAttentionWeights: true })).attentionWeights!;
          const [B, H, T] = w.shape as [number, number, number, number];
          for (let r = 0; r < B * H; r++)
            for (let q = 0; q < T; q++)
              for (let k = q + 1; k < T; k++) {
                const v = w.data[(r * T + q) * T + k]!;
                check(v === 0, `weight[${Math.floor(r / H)},${r % H},${q},${k}] = ${v}, must be exactly 0 above the diagonal`);
              }
        });
      },
    });
    cases.push({
      id: `causal-mask/rows-sum-to-one/${c.name}/${caseParams(c)}`,
      group: 'causal-mask',
      spec: SPEC,
      title: `every weight row is a distribution (${c.name})`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed);
        await withModule(ctx.backend, config, weights, async (m) => {
          const w = (await m.forward(x, { returnAttentionWeights: true })).attentionWeights!;
          const T = w.shape[3]!;
          const rows = w.data.length / T;
          const sums = new Float64Array(rows);
          for (let r = 0; r < rows; r++) {
            let s = 0;
            for (let k = 0; k < T; k++) {
              const v = w.data[r * T + k]!;
              check(v >= 0, `weight row ${r} has a negative entry ${v}`);
              s += v;
            }
            sums[r] = s;
          }
          expectClose(ctx, 'row sums', compare({ data: sums, shape: [rows] }, { data: new Float64Array(rows).fill(1), shape: [rows] }, ctx.tolerance));
        });
      },
    });
    if (c.tokens >= 2) cases.push({
      id: `causal-mask/prefix-invariance/${c.name}/${caseParams(c)}`,
      group: 'causal-mask',
      spec: SPEC,
      title: `changing tokens after t never changes outputs at positions <= t (${c.name})`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed);
        const T = c.tokens;
        await withModule(ctx.backend, config, weights, async (m) => {
          const base = (await m.forward(x)).output;
          for (const t of new Set([0, Math.floor((T - 1) / 2), T - 2].filter((t) => t >= 0 && t < T - 1))) {
            const changed = (await m.forward(perturbAfter(x, t, seed + 1000 + t))).output;
            expectClose(ctx, `outputs at positions <= ${t} after changing later tokens`, compare(prefix(changed, t), prefix(base, t), ctx.tolerance));
            // And the truncated sequence itself gives the same prefix: the mask is relative to T, not baked in.
            const short = (await m.forward(prefix(x, t))).output;
            expectClose(ctx, `outputs of the sequence truncated to ${t + 1} tokens`, compare(short, prefix(base, t), ctx.tolerance));
          }
        });
      },
    });
  });

  const full: ModuleCase = { name: 'non-causal', batch: 2, tokens: 6, config: { dIn: 5, heads: 2, headDim: 3, causal: false, qkvBias: true } };
  cases.push({
    id: `causal-mask/non-causal-sees-future/${caseParams(full)}`,
    group: 'causal-mask',
    spec: SPEC,
    title: 'with causal: false the first token attends to the last and depends on it',
    async run(ctx) {
      const { config, weights, x } = materialise(full, 590);
      await withModule(ctx.backend, config, weights, async (m) => {
        const base = await m.forward(x, { returnAttentionWeights: true });
        const T = full.tokens;
        const w = base.attentionWeights!;
        for (let r = 0; r < w.data.length / (T * T); r++) check(w.data[r * T * T + (T - 1)]! > 0, `query 0 of head-row ${r} gives the last key weight 0 in non-causal mode`);
        const changed = (await m.forward(perturbAfter(x, T - 2, 591))).output;
        const c0 = compare(prefix(changed, 0), prefix(base.output, 0), ctx.tolerance);
        check(!c0.ok, 'changing the last token did not change the first output: the module is masking the future');
      });
    },
  });

  cases.push({
    id: 'causal-mask/core-op/self/q=[2,3,6,4]',
    group: 'causal-mask',
    spec: SPEC,
    title: 'core op with causal: true matches the reference and zeroes the upper triangle',
    async run(ctx) {
      const q = randomTensor([2, 3, 6, 4], 601);
      const k = randomTensor([2, 3, 6, 4], 602);
      const v = randomTensor([2, 3, 6, 4], 603);
      const r = await ctx.backend.attention(q, k, v, { causal: true, returnWeights: true });
      const ref = referenceAttention(q, k, v, { causal: true });
      for (let row = 0; row < 2 * 3 * 6; row++) for (let j = (row % 6) + 1; j < 6; j++) check(r.weights!.data[row * 6 + j] === 0, `core-op weight row ${row} key ${j} must be 0`);
      expectClose(ctx, 'core-op output', compare(r.output, ref.output, ctx.tolerance));
    },
  });
  cases.push({
    id: 'causal-mask/core-op/cross-top-left/q=[1,2,4,4],k=[1,2,7,4]',
    group: 'causal-mask',
    spec: SPEC,
    title: 'core op causal with Tq < Tk is top-left aligned (query i sees keys 0..i)',
    needs: ['cross-attention'],
    async run(ctx) {
      const q = randomTensor([1, 2, 4, 4], 611);
      const k = randomTensor([1, 2, 7, 4], 612);
      const v = randomTensor([1, 2, 7, 4], 613);
      const r = await ctx.backend.attention(q, k, v, { causal: true, returnWeights: true });
      for (let row = 0; row < 8; row++) for (let j = (row % 4) + 1; j < 7; j++) check(r.weights!.data[row * 7 + j] === 0, `row ${row % 4} key ${j} must be masked (top-left alignment)`);
      expectClose(ctx, 'core-op output', compare(r.output, referenceAttention(q, k, v, { causal: true }).output, ctx.tolerance));
    },
  });
  // Tq != Tk on both code paths (with and without returnWeights): decode-shaped Tq = 1 and Tq > Tk.
  cases.push(...coreOpCases('causal-mask', 'causal-mask/core-op/alignment', SPEC, CAUSAL_ALIGNMENT_CASES, 620));
  return cases;
}
