import {
  fromPerHead,
  linear64,
  resolveConfig,
  splitHeads,
  toPerHead,
  type MhaConfig,
  type MhaWeights,
  type Tensor,
} from '@mha/core';
import { check, expectClose, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { caseParams, materialise, permuteHeads, withModule, type ModuleCase } from '../util.js';

const SPEC = 'SPEC.md#head-split';

const CASES: readonly ModuleCase[] = [
  { name: 'book-mha', batch: 2, tokens: 6, config: { dIn: 3, dOut: 4, heads: 2, causal: true } },
  { name: 'three-heads-bias', batch: 2, tokens: 5, config: { dIn: 6, heads: 3, headDim: 4, causal: false, qkvBias: true } },
  { name: 'odd-causal', batch: 1, tokens: 9, config: { dIn: 7, heads: 5, headDim: 3, causal: true, qkvBias: true } },
];

/** Concatenates `[B, T, w_h]` outputs along the last dim. */
function concatLast(parts: readonly Tensor[]): Tensor {
  const [B, T] = parts[0]!.shape as [number, number, number];
  const width = parts.reduce((s, p) => s + p.shape[2]!, 0);
  const out = new Float32Array(B * T * width);
  for (let r = 0; r < B * T; r++) {
    let off = 0;
    for (const p of parts) {
      const w = p.shape[2]!;
      out.set(p.data.subarray(r * w, (r + 1) * w), r * width + off);
      off += w;
    }
  }
  return { data: out, shape: [B, T, width] };
}

/** Column slice `[start, start+count)` of a `[B, T, D]` tensor. */
function sliceLast(x: Tensor, start: number, count: number): Tensor {
  const [B, T, D] = x.shape as [number, number, number];
  const out = new Float32Array(B * T * count);
  for (let r = 0; r < B * T; r++) out.set(x.data.subarray(r * D + start, r * D + start + count), r * count);
  return { data: out, shape: [B, T, count] };
}

/** head-split: H single-head modules == the fused module; head permutation invariance; each head == the core op on its block. */
export function headSplitCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  CASES.forEach((c, i) => {
    const seed = 700 + i * 10;
    const noOut: MhaConfig = { ...c.config, outProj: false, outProjBias: false };
    cases.push({
      id: `head-split/concat-single-heads/${c.name}/${caseParams({ ...c, config: noOut })}`,
      group: 'head-split',
      spec: SPEC,
      title: `H single-head modules on the split weights, concatenated, equal the fused module (${c.name})`,
      async run(ctx) {
        const { config, weights, x } = materialise({ ...c, config: noOut }, seed);
        const fused = await withModule(ctx.backend, config, weights, async (m) => (await m.forward(x)).output);
        const single = { ...noOut, heads: 1, headDim: config.headDim, dOut: undefined };
        const outs: Tensor[] = [];
        for (const head of toPerHead(config, weights)) {
          outs.push(await withModule(ctx.backend, single, fromPerHead(resolveConfig(single), [head]), async (m) => (await m.forward(x)).output));
        }
        expectClose(ctx, 'concat of single-head outputs vs fused', compare(concatLast(outs), fused, ctx.tolerance));
      },
    });
    cases.push({
      id: `head-split/permute-heads/${c.name}/${caseParams(c)}`,
      group: 'head-split',
      spec: SPEC,
      title: `permuting heads together with the matching out_proj rows leaves the output unchanged (${c.name})`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed + 1);
        const H = config.heads;
        const perm = Array.from({ length: H }, (_, h) => (h + 1) % H);
        check(H === 1 || perm.some((p, h) => p !== h), 'permutation must move a head');
        const base = await withModule(ctx.backend, config, weights, async (m) => m.forward(x, { returnAttentionWeights: true }));
        const moved = await withModule(ctx.backend, config, permuteHeads(config, weights, perm), async (m) => m.forward(x, { returnAttentionWeights: true }));
        expectClose(ctx, 'output after permuting heads', compare(moved.output, base.output, ctx.tolerance));
        // The weights of new head p are those of old head perm[p].
        const [B, , T] = base.attentionWeights!.shape as [number, number, number, number];
        const expectedW = new Float32Array(base.attentionWeights!.data.length);
        for (let b = 0; b < B; b++)
          perm.forEach((old, p) => expectedW.set(base.attentionWeights!.data.subarray((b * H + old) * T * T, (b * H + old + 1) * T * T), (b * H + p) * T * T));
        expectClose(ctx, 'attention weights follow the permutation', compare(moved.attentionWeights!, { data: expectedW, shape: base.attentionWeights!.shape }, ctx.tolerance));
      },
    });
    cases.push({
      id: `head-split/head-slice-vs-core-op/${c.name}/${caseParams({ ...c, config: noOut })}`,
      group: 'head-split',
      spec: SPEC,
      title: `each head's output slice equals the core op on that head's projected q/k/v (${c.name})`,
      async run(ctx) {
        const { config, weights, x } = materialise({ ...c, config: noOut }, seed + 2);
        const merged = await withModule(ctx.backend, config, weights, async (m) => (await m.forward(x)).output);
        const { dIn, dOut, heads: H, headDim: dh } = config;
        const rows = c.batch * c.tokens;
        // Project in float64 and round once to float32: the core op's inputs are float32 by contract.
        const proj = (w: Float32Array, b?: Float32Array) => Float32Array.from(splitHeads(linear64(x.data, rows, dIn, w, dOut, b), c.batch, c.tokens, H, dh));
        const q = proj(weights.wq, weights.bq);
        const k = proj(weights.wk, weights.bk);
        const v = proj(weights.wv, weights.bv);
        const block = c.tokens * dh;
        for (let h = 0; h < H; h++) {
          const pick = (t: Float32Array) => {
            const out = new Float32Array(c.batch * block);
            for (let b = 0; b < c.batch; b++) out.set(t.subarray((b * H + h) * block, (b * H + h + 1) * block), b * block);
            return { data: out, shape: [c.batch, 1, c.tokens, dh] };
          };
          const r = await ctx.backend.attention(pick(q), pick(k), pick(v), { causal: config.causal, scale: config.scale });
          const got = { data: r.output.data, shape: [c.batch, c.tokens, dh] };
          expectClose(ctx, `head ${h} slice of the module output vs core op`, compare(sliceLast(merged, h * dh, dh), got, ctx.tolerance));
        }
      },
    });
  });
  return cases;
}
