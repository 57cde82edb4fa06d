// The module export with its features (issue 13: GQA/MQA, cross-attention with kdim/vdim, attention and
// key-padding masks, bottom-right causal; issue 14: the decoder step with past/present KV), run in
// onnxruntime-node directly, as a user would. Oracles: @mha/core's float64 reference (referenceForward for
// module calls; linear64/splitHeads/referenceAttention/mergeHeads for a step over a given past).
import {
  initWeights,
  linear64,
  mergeHeads,
  randomTensor,
  referenceAttention,
  referenceForward,
  resolveConfig,
  seededRandom,
  splitHeads,
  type AttentionMask,
  type ForwardOptions,
  type MhaConfig,
  type MhaWeights,
  type ResolvedMhaConfig,
  type Tensor,
} from '@mha/core';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportAttentionOp, CORE_OP_NAMES, exportOnnx, MODULE_NAMES as N, readModel, readTensorProto, type ExportOptions, type MaskSpec, type OnnxFlavour } from '@mha/onnx';
import { main as mhaOnnx } from '@mha/onnx/cli';
import { loadModuleFixtures } from '@mha/conformance';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

const f32 = (t: { data: ArrayLike<number>; shape: readonly number[] }) => new OrtTensor('float32', Float32Array.from(t.data), [...t.shape]);
const maskFeed = (m: AttentionMask) => (m.kind === 'bool' ? new OrtTensor('bool', Uint8Array.from(m.data), [...m.shape]) : f32(m));

/** SPEC.md "Numeric tolerance": `|a - e| <= 1e-5 * max(1, M) + 1e-4 |e|`, M the largest |expected| (1 for weights). */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, weights = false): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let m = 1;
  if (!weights) for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!;
    const e = want[i]!;
    if (!(Math.abs(a - e) <= 1e-5 * m + 1e-4 * Math.abs(e))) expect.fail(`${what}[${i}] = ${a}, expected ${e}`);
  }
}

async function withSession<T>(bytes: Uint8Array, body: (s: InferenceSession) => Promise<T>): Promise<T> {
  const s = await InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    return await body(s);
  } finally {
    await s.release();
  }
}

const FLAVOURS: { flavour: OnnxFlavour; opset: number }[] = [
  { flavour: 'decomposed', opset: 17 },
  { flavour: 'decomposed', opset: 13 },
  { flavour: 'attention-op', opset: 23 },
  { flavour: 'attention-op', opset: 24 },
];

/** One module call with its export options: what the graph declares and the data fed to it. */
interface Case {
  name: string;
  config: ResolvedMhaConfig;
  weights: MhaWeights;
  x: Tensor;
  forward: ForwardOptions & { key?: Tensor; value?: Tensor; mask?: AttentionMask; keyPaddingMask?: AttentionMask };
  export: ExportOptions;
}

/** A random mask of `shape`: bool bytes (0/1, ONNX bool) or additive values with some -Infinity, -1e9 and float32 lowest. */
function randomMask(kind: 'bool' | 'additive', shape: number[], rand: () => number): AttentionMask {
  const n = shape.reduce((a, b) => a * b, 1);
  if (kind === 'bool') return { kind, data: Uint8Array.from({ length: n }, () => (rand() < 0.3 ? 0 : 1)), shape };
  const special = [-Infinity, -1e9, -3.4028234663852886e38];
  const data = Float32Array.from({ length: n }, () => (rand() < 0.2 ? special[Math.floor(rand() * 3)]! : (rand() * 2 - 1) * 2));
  return { kind, data, shape };
}

/** Blocks every key of one query row (or of every row of batch 0's key padding): the SPEC's fully masked row -> zeros. */
function blockRow(m: AttentionMask, rowLength: number, row: number): void {
  const start = row * rowLength;
  if (start + rowLength > m.data.length) return;
  m.data.fill(m.kind === 'bool' ? 0 : -Infinity, start, start + rowLength);
}

function randomCase(seed: number): Case {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const heads = int(1, 4);
  const divisors = [...Array(heads).keys()].map((i) => i + 1).filter((d) => heads % d === 0);
  const kvHeads = pick(divisors);
  const dIn = int(1, 8);
  const cross = rand() < 0.6;
  const raw: MhaConfig = {
    dIn,
    heads,
    kvHeads,
    headDim: int(1, 5),
    causal: rand() < 0.5,
    qkvBias: rand() < 0.5,
    ...(cross ? { kdim: int(1, 8), vdim: int(1, 8) } : {}),
    ...(rand() < 0.2 ? { scale: pick([0, -0.5, 1.7, 1e-3]) } : {}),
  };
  const outProj = rand() < 0.8;
  const config = resolveConfig({ ...raw, outProj, outProjBias: outProj && rand() < 0.7 });
  const weights = initWeights(config, seed);
  const B = int(1, 3);
  const tq = int(1, 6);
  const tk = cross ? int(1, 7) : tq;
  const x = randomTensor([B, tq, dIn], seed + 1, 2);
  const forward: Case['forward'] = {};
  const exp: ExportOptions = {};
  if (cross) {
    forward.key = randomTensor([B, tk, config.kdim], seed + 2, 2);
    forward.value = randomTensor([B, tk, config.vdim], seed + 3, 2);
    exp.crossAttention = true;
    const align = pick(['top-left', 'bottom-right'] as const);
    forward.causalAlign = align;
    exp.causalAlign = align;
  }
  if (rand() < 0.6) {
    const kind = pick(['bool', 'additive'] as const);
    const rank = pick([2, 3, 4] as const);
    const full = [B, heads, tq, tk].slice(4 - rank);
    // Each leading dim is either full or 1 (broadcast); the key axis may be 1 too.
    const shape = full.map((d, i) => (i < rank - 2 && rand() < 0.4 ? 1 : i === rank - 1 && rand() < 0.15 ? 1 : d));
    const m = randomMask(kind, shape, rand);
    if (rand() < 0.5) blockRow(m, shape[rank - 1]!, int(0, Math.max(0, m.data.length / shape[rank - 1]! - 1)));
    forward.mask = m;
    exp.mask = { kind, rank } satisfies MaskSpec;
  }
  if (rand() < 0.5) {
    const kind = pick(['bool', 'additive'] as const);
    const shape = [rand() < 0.2 ? 1 : B, tk];
    const m = randomMask(kind, shape, rand);
    if (rand() < 0.4) blockRow(m, tk, 0);
    forward.keyPaddingMask = m;
    exp.keyPaddingMask = kind;
  }
  const name = `seed ${seed}: ${JSON.stringify({ dIn, heads, kvHeads, headDim: config.headDim, kdim: config.kdim, vdim: config.vdim, causal: config.causal, B, tq, tk })} ${JSON.stringify(exp)}`;
  return { name, config, weights, x, forward, export: exp };
}

async function runCase(c: Case, flavour: OnnxFlavour, opset: number): Promise<void> {
  const bytes = exportOnnx(c.config, c.weights, { ...c.export, flavour, opset, attentionWeights: true });
  const ref = referenceForward(c.config, c.weights, c.x, c.forward);
  await withSession(bytes, async (s) => {
    const feeds: Record<string, OrtTensor> = { [N.input]: f32(c.x) };
    if (c.forward.key) feeds[N.key] = f32(c.forward.key);
    if (c.forward.value) feeds[N.value] = f32(c.forward.value);
    if (c.forward.mask) feeds[N.mask] = maskFeed(c.forward.mask);
    if (c.forward.keyPaddingMask) feeds[N.keyPaddingMask] = maskFeed(c.forward.keyPaddingMask);
    const r = await s.run(feeds);
    expect(r[N.output]!.dims).toEqual(ref.output.shape);
    expectClose(r[N.output]!.data as Float32Array, ref.output.data, 'output');
    expect(r[N.attentionWeights]!.dims).toEqual(ref.attentionWeights.shape);
    expectClose(r[N.attentionWeights]!.data as Float32Array, ref.attentionWeights.data, 'attention_weights', true);
    // The graph without the weights output is another graph (onnxruntime fuses differently): check it too.
    await withSession(exportOnnx(c.config, c.weights, { ...c.export, flavour, opset }), async (plain) => {
      expectClose((await plain.run(feeds))[N.output]!.data as Float32Array, ref.output.data, 'output (no weights output)');
    });
  });
}

const cfg = (c: MhaConfig) => resolveConfig(c);

/** Hand-picked cases, each naming the feature it pins down. */
function namedCases(): Case[] {
  const gqa = cfg({ dIn: 8, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true });
  const mqa = cfg({ dIn: 6, heads: 3, kvHeads: 1, headDim: 2, causal: false });
  const cross = cfg({ dIn: 5, heads: 2, headDim: 3, kdim: 7, vdim: 4, causal: true, qkvBias: true });
  const plain = cfg({ dIn: 6, heads: 2, headDim: 3, causal: true, outProj: false });
  const k = randomTensor([2, 5, 7], 11, 2);
  const v = randomTensor([2, 5, 4], 12, 2);
  // Batch row 1 pads every key: every query row of that batch is fully masked -> zeros (context), output = bo.
  const allPadded: AttentionMask = { kind: 'bool', data: Uint8Array.from([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]), shape: [2, 5] };
  const boolRows: AttentionMask = { kind: 'bool', data: Uint8Array.from([1, 0, 1, 0, 0, 0, 1, 1, 1]), shape: [3, 3] }; // row 1 fully masked
  const negInfRows: AttentionMask = { kind: 'additive', data: Float32Array.from([0, -1, -Infinity, -Infinity, -Infinity, -Infinity, 0.5, -3.4028234663852886e38, 2]), shape: [3, 3] };
  const lowestRow: AttentionMask = { kind: 'additive', data: Float32Array.from([-3.4028234663852886e38, -3.4028234663852886e38, -3.4028234663852886e38, 0, 0, 0, -1e9, -1e9, -1e9]), shape: [3, 3] };
  const w = (c: ResolvedMhaConfig) => initWeights(c, 5);
  return [
    { name: 'GQA 4/2 self-attention, causal', config: gqa, weights: w(gqa), x: randomTensor([2, 5, 8], 1, 2), forward: {}, export: {} },
    { name: 'MQA 3/1, bool mask with a fully masked row', config: mqa, weights: w(mqa), x: randomTensor([1, 3, 6], 2, 2), forward: { mask: boolRows }, export: { mask: { kind: 'bool', rank: 2 } } },
    { name: 'MQA 3/1, additive -Infinity rows, a lowest value', config: mqa, weights: w(mqa), x: randomTensor([1, 3, 6], 3, 2), forward: { mask: negInfRows }, export: { mask: { kind: 'additive', rank: 2 } } },
    { name: 'additive rows of float32 lowest and -1e9 -> uniform weights', config: mqa, weights: w(mqa), x: randomTensor([1, 3, 6], 4, 2), forward: { mask: lowestRow }, export: { mask: { kind: 'additive', rank: 2 } } },
    { name: 'cross kdim 7 != vdim 4 != dIn 5, top-left causal, bool key padding with an all-padded batch row', config: cross, weights: w(cross), x: randomTensor([2, 3, 5], 5, 2), forward: { key: k, value: v, keyPaddingMask: allPadded }, export: { keyPaddingMask: 'bool' } },
    { name: 'cross, bottom-right causal (offset Tk - Tq = 2)', config: cross, weights: w(cross), x: randomTensor([2, 3, 5], 6, 2), forward: { key: k, value: v, causalAlign: 'bottom-right' }, export: { causalAlign: 'bottom-right' } },
    { name: 'cross, bottom-right with Tq > Tk (negative offset: the first rows see no key -> zeros)', config: cross, weights: w(cross), x: randomTensor([2, 7, 5], 7, 2), forward: { key: k, value: v, causalAlign: 'bottom-right' }, export: { causalAlign: 'bottom-right' } },
    {
      name: 'cross, additive key padding + bool 4-D mask + bottom-right',
      config: cross,
      weights: w(cross),
      x: randomTensor([2, 3, 5], 8, 2),
      forward: { key: k, value: v, causalAlign: 'bottom-right', keyPaddingMask: { kind: 'additive', data: Float32Array.from([0, -1, 0.5, -Infinity, 0, 0, 0, 0, -2, 1]), shape: [2, 5] }, mask: randomMask('bool', [2, 2, 3, 5], seededRandom(9)) },
      export: { causalAlign: 'bottom-right', keyPaddingMask: 'additive', mask: { kind: 'bool', rank: 4 } },
    },
    { name: 'self-attention with key/value inputs of width dIn (crossAttention: true)', config: plain, weights: w(plain), x: randomTensor([1, 2, 6], 10, 2), forward: { key: randomTensor([1, 4, 6], 13), value: randomTensor([1, 4, 6], 14) }, export: { crossAttention: true } },
  ];
}

describe('exportOnnx module features in onnxruntime-node vs the float64 reference', () => {
  for (const c of namedCases()) {
    for (const { flavour, opset } of FLAVOURS) {
      it(`${flavour} opset ${opset}: ${c.name}`, () => runCase(c, flavour, opset));
    }
  }
  // Random configs (GQA, MQA, cross with kdim/vdim, every mask kind and rank with broadcast dims, key
  // padding, both alignments, fully masked rows), each in both flavours.
  const seed = Number(process.env.MHA_PROPERTY_SEED ?? 20261201);
  for (let i = 0; i < 24; i++) {
    const c = randomCase(seed + 97 * i);
    const { flavour, opset } = FLAVOURS[i % FLAVOURS.length]!;
    it(`random ${i}, ${flavour} opset ${opset} + ${i % 2 ? 'decomposed' : 'attention-op'}: ${c.name}`, async () => {
      await runCase(c, flavour, opset);
      await runCase(c, i % 2 ? 'decomposed' : 'attention-op', i % 2 ? 17 : 23);
    });
  }
});

describe('exportOnnx module features in onnxruntime-node vs PyTorch 1.13 (fixtures/module-features, fixtures/checkpoints)', () => {
  // Decode fixtures (a `decode` schedule over a module cache) are conformance cases, not one-forward graphs.
  for (const f of loadModuleFixtures().filter((m) => !m.decode)) {
    for (const flavour of ['decomposed', 'attention-op'] as const) {
      it(`${flavour}: ${f.id}`, async () => {
        const o = f.options as Case['forward'];
        const exp: ExportOptions = { flavour, attentionWeights: f.expected.weights !== undefined };
        if (o.key) exp.crossAttention = true;
        if (o.mask) exp.mask = { kind: o.mask.kind, rank: o.mask.shape.length as 2 | 3 | 4 };
        if (o.keyPaddingMask) exp.keyPaddingMask = o.keyPaddingMask.kind;
        if (o.causalAlign) exp.causalAlign = o.causalAlign;
        const feeds: Record<string, OrtTensor> = { [N.input]: f32(f.x) };
        if (o.key) feeds[N.key] = f32(o.key);
        if (o.value) feeds[N.value] = f32(o.value);
        if (o.mask) feeds[N.mask] = maskFeed(o.mask);
        if (o.keyPaddingMask) feeds[N.keyPaddingMask] = maskFeed(o.keyPaddingMask);
        // torch gives NaN on fully masked rows (stored as NaN); SPEC gives zeros: those positions are checked
        // against the float64 reference, as the conformance suite does.
        const ref = referenceForward(f.config, f.weights, f.x, f.options);
        const orRef = (t: ArrayLike<number>, r: ArrayLike<number>) => Float64Array.from(t, (v, i) => (Number.isNaN(v) ? r[i]! : v));
        await withSession(exportOnnx(f.config, f.weights, exp), async (s) => {
          const r = await s.run(feeds);
          expectClose(r[N.output]!.data as Float32Array, orRef(f.expected.output.data, ref.output.data), 'output');
          if (f.expected.weights) {
            const per = r[N.attentionWeights]!.data as Float32Array;
            const [B, H, tq, tk] = r[N.attentionWeights]!.dims as number[];
            let got: ArrayLike<number> = per;
            if (f.options.averageWeights) {
              const avg = new Float64Array(B! * tq! * tk!);
              for (let b = 0; b < B!; b++) for (let h = 0; h < H!; h++) for (let p = 0; p < tq! * tk!; p++) avg[b * tq! * tk! + p]! += per[(b * H! + h) * tq! * tk! + p]! / H!;
              got = avg;
            }
            expectClose(got, orRef(f.expected.weights.data, f.options.averageWeights ? ref.averagedWeights.data : ref.attentionWeights.data), 'attention_weights', true);
          }
        });
      });
    }
  }
});

/** The reference of one decoder step over a given past: core's float64 pieces, composed as the module computes. */
function referenceStep(config: ResolvedMhaConfig, w: MhaWeights, x: Tensor, pastKey: Tensor, pastValue: Tensor) {
  const [B, T] = x.shape as [number, number];
  const { dIn, dOut, heads: H, kvHeads: Hkv, headDim: dh } = config;
  const q = splitHeads(linear64(x.data, B * T, dIn, w.wq, dOut, w.bq), B, T, H, dh);
  const k = splitHeads(linear64(x.data, B * T, dIn, w.wk, Hkv * dh, w.bk), B, T, Hkv, dh);
  const v = splitHeads(linear64(x.data, B * T, dIn, w.wv, Hkv * dh, w.bv), B, T, Hkv, dh);
  const t32 = (data: Float64Array, shape: number[]) => ({ data: Float32Array.from(data), shape });
  const a = referenceAttention(t32(q, [B, H, T, dh]), t32(k, [B, Hkv, T, dh]), t32(v, [B, Hkv, T, dh]), { causal: true, scale: config.scale, pastKey, pastValue });
  const merged = mergeHeads(a.output.data, B, T, H, dh);
  return { output: config.outProj ? linear64(merged, B * T, dOut, w.wo!, dOut, w.bo) : merged, k, v };
}

describe('exportOnnx({ past: true }): the decoder step in onnxruntime-node', () => {
  const configs = [
    cfg({ dIn: 8, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true }),
    cfg({ dIn: 6, heads: 3, kvHeads: 1, headDim: 4, causal: true }),
    cfg({ dIn: 5, heads: 2, headDim: 2, causal: true, outProj: false, scale: -0.7 }),
  ];
  for (const { flavour, opset } of FLAVOURS) {
    describe(`${flavour} opset ${opset}`, () => {
      it('declares x, past_key, past_value -> output, present_key, present_value', () => {
        const m = readModel(exportOnnx(configs[0]!, initWeights(configs[0]!, 1), { flavour, opset, past: true }));
        expect(m.graph.inputs.map((i) => [i.name, i.dims])).toEqual([
          ['x', ['batch', 'tokens', 8]],
          ['past_key', ['batch', 2, 'past_tokens', 3]],
          ['past_value', ['batch', 2, 'past_tokens', 3]],
        ]);
        expect(m.graph.outputs.map((o) => [o.name, o.dims])).toEqual([
          ['output', ['batch', 'tokens', 12]],
          ['present_key', ['batch', 2, 'total_tokens', 3]],
          ['present_value', ['batch', 2, 'total_tokens', 3]],
        ]);
        // The standard op (default domain), never the contrib MultiHeadAttention that drops past KV unless present is fetched.
        for (const n of m.graph.nodes) expect(n.domain ?? '').toBe('');
      });

      for (const [ci, config] of configs.entries()) {
        it(`one step over a random past, fetching only output (the past is not ignored): config ${ci}`, async () => {
          const w = initWeights(config, 7 + ci);
          const [B, P, T] = [2, 5, 2];
          const x = randomTensor([B, T, config.dIn], 1 + ci, 2);
          const pastKey = randomTensor([B, config.kvHeads, P, config.headDim], 2 + ci, 2);
          const pastValue = randomTensor([B, config.kvHeads, P, config.headDim], 3 + ci, 2);
          const want = referenceStep(config, w, x, pastKey, pastValue);
          await withSession(exportOnnx(config, w, { flavour, opset, past: true }), async (s) => {
            const feeds = { [N.input]: f32(x), [N.pastKey]: f32(pastKey), [N.pastValue]: f32(pastValue) };
            const only = await s.run(feeds, [N.output]);
            expectClose(only[N.output]!.data as Float32Array, want.output, 'output (only output fetched)');
            const all = await s.run(feeds);
            expectClose(all[N.output]!.data as Float32Array, want.output, 'output');
            // present = concat(past, new) along the tokens.
            const pk = all[N.presentKey]!;
            expect(pk.dims).toEqual([B, config.kvHeads, P + T, config.headDim]);
            const dh = config.headDim;
            for (let bh = 0; bh < B * config.kvHeads; bh++) {
              const row = pk.data as Float32Array;
              expect(Array.from(row.subarray(bh * (P + T) * dh, (bh * (P + T) + P) * dh))).toEqual(Array.from(pastKey.data.subarray(bh * P * dh, (bh + 1) * P * dh)));
              expectClose(row.subarray((bh * (P + T) + P) * dh, (bh + 1) * (P + T) * dh), want.k.subarray(bh * T * dh, (bh + 1) * T * dh), 'present_key (new keys)');
              expectClose((all[N.presentValue]!.data as Float32Array).subarray((bh * (P + T) + P) * dh, (bh + 1) * (P + T) * dh), want.v.subarray(bh * T * dh, (bh + 1) * T * dh), 'present_value (new values)');
            }
          });
        });

        it(`a decode loop (empty past, random chunks, present fed back) equals the full causal forward: config ${ci}`, async () => {
          const w = initWeights(config, 17 + ci);
          const rand = seededRandom(100 + ci);
          const [B, total] = [2, 11];
          const x = randomTensor([B, total, config.dIn], 30 + ci, 2);
          const full = referenceForward(config, w, x);
          const { kvHeads: Hkv, headDim: dh, dOut } = config;
          await withSession(exportOnnx(config, w, { flavour, opset, past: true }), async (s) => {
            let pastKey: OrtTensor = new OrtTensor('float32', new Float32Array(0), [B, Hkv, 0, dh]);
            let pastValue: OrtTensor = new OrtTensor('float32', new Float32Array(0), [B, Hkv, 0, dh]);
            const out = new Float32Array(B * total * dOut);
            for (let at = 0; at < total; ) {
              const n = Math.min(total - at, 1 + Math.floor(rand() * 3));
              const chunk = new Float32Array(B * n * config.dIn);
              for (let b = 0; b < B; b++) chunk.set(x.data.subarray((b * total + at) * config.dIn, (b * total + at + n) * config.dIn), b * n * config.dIn);
              const r = await s.run({ [N.input]: new OrtTensor('float32', chunk, [B, n, config.dIn]), [N.pastKey]: pastKey, [N.pastValue]: pastValue });
              const o = r[N.output]!.data as Float32Array;
              for (let b = 0; b < B; b++) out.set(o.subarray(b * n * dOut, (b + 1) * n * dOut), (b * total + at) * dOut);
              pastKey = r[N.presentKey]!;
              pastValue = r[N.presentValue]!;
              at += n;
            }
            expectClose(out, full.output.data, 'decoded output');
            expect(pastKey.dims).toEqual([B, Hkv, total, dh]);
            expectClose(pastKey.data as Float32Array, full.intermediates.k, 'final present_key');
            expectClose(pastValue.data as Float32Array, full.intermediates.v, 'final present_value');
          });
        });
      }
    });
  }
});

describe('mha-onnx export with feature options: the written model reproduces its test data in onnxruntime-node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mha-onnx-features-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = () => {};
  const runs: [string, string, string[]][] = [
    ['cross GQA, masks, bottom-right, weights', '{"dIn":6,"heads":4,"kvHeads":2,"headDim":3,"kdim":5,"vdim":7,"causal":true,"qkvBias":true}', ['--mask', 'additive:3', '--key-padding-mask', 'bool', '--causal-align', 'bottom-right', '--attention-weights', '--tokens', '3', '--kv-tokens', '6']],
    ['MQA self-attention, bool mask', '{"dIn":6,"heads":3,"kvHeads":1,"headDim":2}', ['--mask', 'bool:4']],
    ['decoder step (GQA)', '{"dIn":8,"heads":4,"kvHeads":2,"headDim":3,"causal":true}', ['--past', '--tokens', '2', '--past-tokens', '5']],
  ];
  for (const { flavour } of FLAVOURS.filter((f) => f.opset === 17 || f.opset === 23)) {
    for (const [name, config, extra] of runs) {
      it(`${flavour}: ${name}`, async () => {
        const base = join(dir, `${flavour}-${name.replace(/\W+/g, '-')}`);
        const err: string[] = [];
        const code = await mhaOnnx(['export', '--config', config, '--seed', '4', '--flavour', flavour, '--out', `${base}.onnx`, '--test-data', base, ...extra], quiet, (e) => err.push(e));
        expect(code, err.join('\n')).toBe(0);
        const set = join(base, 'test_data_set_0');
        const files = readdirSync(set);
        const pb = (f: string) => readTensorProto(readFileSync(join(set, f)));
        await withSession(readFileSync(`${base}.onnx`), async (s) => {
          const inputs = files.filter((f) => f.startsWith('input_')).sort().map(pb);
          expect(inputs.map((t) => t.name)).toEqual(s.inputNames);
          const feeds = Object.fromEntries(inputs.map((t) => [t.name, t.type === 'bool' ? new OrtTensor('bool', t.data as Uint8Array, t.dims) : new OrtTensor('float32', t.data as Float32Array, t.dims)]));
          const r = await s.run(feeds);
          const outputs = files.filter((f) => f.startsWith('output_')).sort().map(pb);
          expect(outputs.map((t) => t.name)).toEqual(s.outputNames);
          for (const want of outputs) {
            expect(r[want.name]!.dims).toEqual(want.dims);
            expectClose(r[want.name]!.data as Float32Array, want.data as Float32Array, want.name, want.name === N.attentionWeights);
          }
        });
      });
    }
  }
});

describe('exportAttentionOp at opset 24 (attention-op flavour)', () => {
  it('a past/present decoder step with GQA and a bool mask matches the reference', async () => {
    const C = CORE_OP_NAMES;
    const q = randomTensor([1, 4, 2, 3], 1, 2);
    const k = randomTensor([1, 2, 2, 3], 2, 2);
    const v = randomTensor([1, 2, 2, 5], 3);
    const pastKey = randomTensor([1, 2, 4, 3], 4, 2);
    const pastValue = randomTensor([1, 2, 4, 5], 5);
    const mask: AttentionMask = { kind: 'bool', data: Uint8Array.from([1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]), shape: [2, 6] }; // query row 1 fully masked
    const bytes = exportAttentionOp({ flavour: 'attention-op', opset: 24, causal: true, past: true, weights: true, mask: { kind: 'bool', rank: 2 } });
    expect(readModel(bytes).opset).toBe(24);
    const want = referenceAttention(q, k, v, { causal: true, pastKey, pastValue, mask, returnWeights: true });
    await withSession(bytes, async (s) => {
      const r = await s.run({ [C.q]: f32(q), [C.k]: f32(k), [C.v]: f32(v), [C.pastKey]: f32(pastKey), [C.pastValue]: f32(pastValue), [C.mask]: maskFeed(mask) });
      expectClose(r[C.output]!.data as Float32Array, want.output.data, 'output');
      expectClose(r[C.weights]!.data as Float32Array, want.weights.data, 'weights', true);
    });
  });
});
