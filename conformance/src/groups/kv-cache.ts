import { createKvCache, randomTensor, referenceAttention, requiredCapabilities, lowerAttention, validateAttention, type AttentionOptions, type Capability, type MhaBackend, type Tensor } from '@mha/core';
import { check, ConformanceFailure, expectClose, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { expectError } from './errors.js';
import { moduleKvCacheCases } from './module-kv-cache.js';

/*
 * The core op's cache inputs (SPEC.md, "KV cache"). Oracles are the float64 reference of the
 * whole sequence without any cache input, and slicing: what a cache call must equal is a call the
 * contract already pins down.
 */

/** `t[:, :, from:to, :]` of a `[B, H, T, d]` tensor, as a fresh tensor. */
export function sliceSeq(t: Tensor, from: number, to: number): Tensor {
  const [B, H, T, d] = t.shape as [number, number, number, number];
  const out = new Float32Array(B * H * (to - from) * d);
  for (let bh = 0; bh < B * H; bh++) out.set(t.data.subarray((bh * T + from) * d, (bh * T + to) * d), bh * (to - from) * d);
  return { data: out, shape: [B, H, to - from, d] };
}

/** Row `b` of a `[B, ...]` tensor. */
function batchRow(t: Tensor, b: number): Tensor {
  const per = t.data.length / t.shape[0]!;
  return { data: t.data.slice(b * per, (b + 1) * per), shape: [1, ...t.shape.slice(1)] };
}

function f32(t: Tensor<Float64Array>): Tensor {
  return { data: Float32Array.from(t.data), shape: t.shape };
}

function needsOf(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Capability[] {
  return requiredCapabilities(lowerAttention(validateAttention(q, k, v, o)));
}

interface IncrementalCase {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  T: number;
  dk: number;
  dv: number;
  chunks: number[];
  softcap?: number;
}

const INCREMENTAL: IncrementalCase[] = [
  { name: 'mha-token-by-token', B: 2, Hq: 2, Hkv: 2, T: 11, dk: 8, dv: 8, chunks: Array(11).fill(1) },
  { name: 'gqa-chunks-5-1-7', B: 1, Hq: 4, Hkv: 2, T: 13, dk: 8, dv: 8, chunks: [5, 1, 7] },
  { name: 'dv-differs-chunks-3-4-1-9', B: 2, Hq: 3, Hkv: 1, T: 17, dk: 5, dv: 7, chunks: [3, 4, 1, 9] },
  { name: 'softcap-prefill-then-decode', B: 1, Hq: 2, Hkv: 2, T: 20, dk: 16, dv: 16, chunks: [16, 1, 1, 1, 1], softcap: 2 },
  { name: 'long-decode-300', B: 1, Hq: 1, Hkv: 1, T: 300, dk: 8, dv: 8, chunks: [290, ...Array(10).fill(1)] },
];

/** KV-cache cases on the core op: `numeric/kv-cache/*` and `errors/kv-cache/*`. */
export function kvCacheCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const c of INCREMENTAL) {
    const q = randomTensor([c.B, c.Hq, c.T, c.dk], 101, 2);
    const k = randomTensor([c.B, c.Hkv, c.T, c.dk], 102, 2);
    const v = randomTensor([c.B, c.Hkv, c.T, c.dv], 103);
    const base: AttentionOptions = { causal: true, softcap: c.softcap };
    const first = c.chunks[0]!;
    const step2 = c.chunks.length > 1 ? c.chunks[1]! : 0;
    const needs = [
      ...new Set([
        ...needsOf(q, k, v, base),
        ...needsOf(sliceSeq(q, first, first + step2), sliceSeq(k, first, first + step2), sliceSeq(v, first, first + step2), { ...base, pastKey: sliceSeq(k, 0, first), pastValue: sliceSeq(v, 0, first) }),
      ]),
    ];
    cases.push({
      id: `numeric/kv-cache/incremental-equals-full/${c.name}`,
      group: 'numeric',
      spec: 'SPEC.md#kv-cache',
      title: `causal attention fed in chunks [${c.chunks.join(', ')}] with pastKey/pastValue equals the whole sequence at once; present is the concatenation`,
      needs,
      async run(ctx) {
        const full = f32(referenceAttention(q, k, v, base).output);
        let pastKey: Tensor = { data: new Float32Array(0), shape: [c.B, c.Hkv, 0, c.dk] };
        let pastValue: Tensor = { data: new Float32Array(0), shape: [c.B, c.Hkv, 0, c.dv] };
        let at = 0;
        for (const n of c.chunks) {
          const r = await ctx.backend.attention(sliceSeq(q, at, at + n), sliceSeq(k, at, at + n), sliceSeq(v, at, at + n), { ...base, pastKey, pastValue });
          expectClose(ctx, `output of tokens ${at}..${at + n - 1}`, compare(r.output, sliceSeq(full, at, at + n), ctx.tolerance));
          if (!r.presentKey || !r.presentValue) throw new ConformanceFailure('no presentKey/presentValue returned with a past');
          at += n;
          expectClose(ctx, `presentKey after ${at} tokens (exact)`, compare(r.presentKey, sliceSeq(k, 0, at), { atol: 0, rtol: 0 }));
          expectClose(ctx, `presentValue after ${at} tokens (exact)`, compare(r.presentValue, sliceSeq(v, 0, at), { atol: 0, rtol: 0 }));
          pastKey = r.presentKey;
          pastValue = r.presentValue;
        }
      },
    });
  }

  // The same sequences through a preallocated KvCache; a rollback (truncate) then re-decoding gives the same outputs.
  for (const c of INCREMENTAL) {
    const q = randomTensor([c.B, c.Hq, c.T, c.dk], 101, 2);
    const k = randomTensor([c.B, c.Hkv, c.T, c.dk], 102, 2);
    const v = randomTensor([c.B, c.Hkv, c.T, c.dv], 103);
    const base: AttentionOptions = { causal: true, softcap: c.softcap };
    const first = c.chunks[0]!;
    const step2 = c.chunks.length > 1 ? c.chunks[1]! : 0;
    const needs = [...new Set([...needsOf(q, k, v, base), ...needsOf(sliceSeq(q, first, first + step2), sliceSeq(k, first, first + step2), sliceSeq(v, first, first + step2), { ...base, pastKey: sliceSeq(k, 0, first), pastValue: sliceSeq(v, 0, first) })])];
    cases.push({
      id: `numeric/kv-cache/cache-equals-full/${c.name}`,
      group: 'numeric',
      spec: 'SPEC.md#kv-cache',
      title: `causal attention fed in chunks [${c.chunks.join(', ')}] through a KvCache (capacity = T) equals the whole sequence; after each chunk a rollback of a wrong token and a re-decode give the same output`,
      needs,
      async run(ctx) {
        const full = f32(referenceAttention(q, k, v, base).output);
        const cache = createKvCache({ batch: c.B, kvHeads: c.Hkv, capacity: c.T + 1, keyDim: c.dk, valueDim: c.dv });
        let at = 0;
        for (const n of c.chunks) {
          // A speculative token that gets rejected: appended, then truncated away.
          const junk = randomTensor([c.B, c.Hkv, 1, c.dk], 900 + at, 5);
          const junkV = randomTensor([c.B, c.Hkv, 1, c.dv], 950 + at, 5);
          await ctx.backend.attention(sliceSeq(q, at, at + 1), junk, junkV, { ...base, cache });
          check(cache.length === at + 1, `cache length ${cache.length} after a speculative step, expected ${at + 1}`);
          cache.truncate(at);
          const r = await ctx.backend.attention(sliceSeq(q, at, at + n), sliceSeq(k, at, at + n), sliceSeq(v, at, at + n), { ...base, cache });
          expectClose(ctx, `output of tokens ${at}..${at + n - 1}`, compare(r.output, sliceSeq(full, at, at + n), ctx.tolerance));
          at += n;
          check(cache.length === at, `cache length ${cache.length}, expected ${at}`);
        }
        const snap = cache.snapshot();
        expectClose(ctx, 'cached keys (exact)', compare(snap.key, k, { atol: 0, rtol: 0 }));
        expectClose(ctx, 'cached values (exact)', compare(snap.value, v, { atol: 0, rtol: 0 }));
      },
    });
  }

  // nonpadKvSeqlen: batch row b equals the same row with its keys cut to n[b], causal bottom-right over them.
  for (const causal of [false, true]) {
    const B = 3;
    const [Hq, Hkv, tq, tk, d] = [4, 2, 3, 9, 8];
    const nonpad = [9, 5, 3];
    const q = randomTensor([B, Hq, tq, d], 201, 2);
    const k = randomTensor([B, Hkv, tk, d], 202, 2);
    const v = randomTensor([B, Hkv, tk, d], 203);
    const options: AttentionOptions = { causal, nonpadKvSeqlen: nonpad };
    cases.push({
      id: `numeric/kv-cache/nonpad-equals-truncated/causal=${causal}`,
      group: 'numeric',
      spec: 'SPEC.md#kv-cache',
      title: `nonpadKvSeqlen [${nonpad.join(', ')}]${causal ? ' with causal (offset n - Tq)' : ''}: each batch row equals that row with its keys cut to n`,
      needs: needsOf(q, k, v, options),
      async run(ctx) {
        const r = await ctx.backend.attention(q, k, v, options);
        for (let b = 0; b < B; b++) {
          const n = nonpad[b]!;
          // Keys cut to n, the last tq of them being the queries' own positions: a past of n - tq then tq new keys.
          const kb = batchRow(k, b);
          const vb = batchRow(v, b);
          const want = causal
            ? referenceAttention(batchRow(q, b), sliceSeq(kb, n - tq, n), sliceSeq(vb, n - tq, n), { causal: true, pastKey: sliceSeq(kb, 0, n - tq), pastValue: sliceSeq(vb, 0, n - tq) })
            : referenceAttention(batchRow(q, b), sliceSeq(kb, 0, n), sliceSeq(vb, 0, n));
          expectClose(ctx, `batch row ${b} (n = ${n})`, compare(batchRow(r.output, b), f32(want.output), ctx.tolerance));
        }
      },
    });
  }

  // A mask shorter than the key axis: the keys past its end are masked (ONNX pads with -Infinity).
  for (const kind of ['additive', 'bool'] as const) {
    const [B, H, tq, tk, d, m] = [2, 2, 3, 7, 8, 4];
    const q = randomTensor([B, H, tq, d], 301, 2);
    const k = randomTensor([B, H, tk, d], 302, 2);
    const v = randomTensor([B, H, tk, d], 303, 4);
    const add = randomTensor([tq, m], 304);
    const mask = kind === 'additive' ? { kind, data: add.data, shape: [tq, m] } : { kind, data: Uint8Array.from(add.data, (x) => (x > -0.6 ? 1 : 0)), shape: [tq, m] };
    const options: AttentionOptions = { mask };
    cases.push({
      id: `numeric/kv-cache/mask-shorter-than-keys/${kind}`,
      group: 'numeric',
      spec: 'SPEC.md#kv-cache',
      title: `a ${kind} mask [${tq}, ${m}] over ${tk} keys: keys ${m}.. are masked, as if cut away`,
      needs: needsOf(q, k, v, options),
      async run(ctx) {
        const r = await ctx.backend.attention(q, k, v, options);
        const want = referenceAttention(q, sliceSeq(k, 0, m), sliceSeq(v, 0, m), options);
        expectClose(ctx, 'output', compare(r.output, f32(want.output), ctx.tolerance));
      },
    });
  }

  // Score stages: relations that hold whatever the arithmetic, on the backend's own result.
  {
    const [B, H, tq, tk, d] = [1, 2, 3, 5, 8];
    const q = randomTensor([B, H, tq, d], 401, 3);
    const k = randomTensor([B, H, tk, d], 402, 3);
    const v = randomTensor([B, H, tk, d], 403);
    const pastKey = randomTensor([B, H, 4, d], 404, 3);
    const pastValue = randomTensor([B, H, 4, d], 405);
    const base: AttentionOptions = { causal: true, softcap: 1.5, pastKey, pastValue, returnWeights: true };
    cases.push({
      id: 'numeric/kv-cache/weights-stages',
      group: 'numeric',
      spec: 'SPEC.md#kv-cache',
      title: "weightsStage 'scores' is scale q k^T over past + new keys, 'softcapped' its soft-cap, 'masked' adds -Infinity exactly at the keys causal hides (offset = past length)",
      needs: needsOf(q, k, v, base),
      async run(ctx) {
        const T = 4 + tk;
        const keys = [...Array(B * H)].map((_, bh) => [pastKey, k].flatMap((t) => [...t.data.subarray(bh * t.shape[2]! * d, (bh + 1) * t.shape[2]! * d)]));
        const raw = new Float32Array(B * H * tq * T);
        for (let bh = 0; bh < B * H; bh++)
          for (let i = 0; i < tq; i++)
            for (let j = 0; j < T; j++) {
              let s = 0;
              for (let x = 0; x < d; x++) s += q.data[(bh * tq + i) * d + x]! * keys[bh]![j * d + x]!;
              raw[(bh * tq + i) * T + j] = s / Math.sqrt(d);
            }
        const capped = raw.map((s) => 1.5 * Math.tanh(s / 1.5));
        const masked = capped.map((s, at) => (at % T <= (Math.floor(at / T) % tq) + 4 ? s : -Infinity));
        const shape = [B, H, tq, T];
        for (const [stage, want] of [['scores', raw], ['softcapped', capped], ['masked', masked]] as const) {
          const r = await ctx.backend.attention(q, k, v, { ...base, weightsStage: stage });
          check(r.weights !== undefined, `no weights for stage ${stage}`);
          expectClose(ctx, `weights at stage '${stage}'`, compare(r.weights, { data: want, shape }, ctx.tolerance));
        }
        const soft = await ctx.backend.attention(q, k, v, base);
        const full = referenceAttention(q, { data: Float32Array.from(keys.flat()), shape: [B, H, T, d] }, soft.presentValue!, { softcap: 1.5, mask: { kind: 'additive', data: masked.map((s) => (s === -Infinity ? -Infinity : 0)), shape } });
        expectClose(ctx, "weights at stage 'softmax' (default)", compare(soft.weights!, f32(full.weights), ctx.tolerance));
      },
    });
  }

  // Errors: the cache inputs are validated in core with the field and value (SPEC.md, "Errors").
  const q = randomTensor([1, 2, 1, 4], 1);
  const k = randomTensor([1, 2, 2, 4], 2);
  const v = randomTensor([1, 2, 2, 4], 3);
  const pk = randomTensor([1, 2, 3, 4], 4);
  const errors: [string, { code: string; field: string; value: unknown }, AttentionOptions][] = [
    ['past-key-without-value', { code: 'MHA_INVALID_OPTION', field: 'options.pastValue', value: undefined }, { pastKey: pk }],
    ['past-key-head-size', { code: 'MHA_DIM_MISMATCH', field: 'options.pastKey.shape[3]', value: 5 }, { pastKey: randomTensor([1, 2, 3, 5], 4), pastValue: pk }],
    ['past-value-length', { code: 'MHA_DIM_MISMATCH', field: 'options.pastValue.shape[2]', value: 2 }, { pastKey: pk, pastValue: randomTensor([1, 2, 2, 4], 4) }],
    ['past-key-non-finite', { code: 'MHA_NON_FINITE', field: 'options.pastKey.data[5]', value: NaN }, { pastKey: { data: pk.data.map((x, i) => (i === 5 ? NaN : x)), shape: pk.shape }, pastValue: pk }],
    ['nonpad-over-key-count', { code: 'MHA_INVALID_OPTION', field: 'options.nonpadKvSeqlen[0]', value: 3 }, { nonpadKvSeqlen: [3] }],
    ['nonpad-length', { code: 'MHA_DIM_MISMATCH', field: 'options.nonpadKvSeqlen.length', value: 2 }, { nonpadKvSeqlen: [1, 1] }],
    ['nonpad-with-past', { code: 'MHA_INVALID_OPTION', field: 'options.nonpadKvSeqlen', value: 'with pastKey' }, { nonpadKvSeqlen: [1], pastKey: pk, pastValue: pk }],
    ['stage-without-weights', { code: 'MHA_INVALID_OPTION', field: 'options.weightsStage', value: 'scores' }, { weightsStage: 'scores' }],
    ['stage-unknown', { code: 'MHA_INVALID_OPTION', field: 'options.weightsStage', value: 'logits' }, { weightsStage: 'logits' as never, returnWeights: true }],
  ];
  const fullCache = () => {
    const c = createKvCache({ batch: 1, kvHeads: 2, capacity: 4, keyDim: 4, valueDim: 4 });
    c.append(pk, pk);
    return c;
  };
  errors.push(['cache-full', { code: 'MHA_CACHE_FULL', field: 'k.shape[2]', value: 2 }, { cache: fullCache() }]);
  errors.push(['cache-head-size', { code: 'MHA_DIM_MISMATCH', field: 'options.cache.keyDim', value: 8 }, { cache: createKvCache({ batch: 1, kvHeads: 2, capacity: 8, keyDim: 8, valueDim: 4 }) }]);
  errors.push(['cache-not-a-cache', { code: 'MHA_INVALID_TYPE', field: 'options.cache', value: 'cache' }, { cache: 'cache' as never }]);
  for (const [name, expected, options] of errors) {
    cases.push({
      id: `errors/kv-cache/${name}`,
      group: 'errors',
      spec: 'SPEC.md#kv-cache',
      title: `core-op cache input error: ${expected.code} at ${expected.field}`,
      // Validation runs before the capability check: no capability needed.
      run: (ctx) => expectError(expected as never, name, ctx.backend as MhaBackend, () => ctx.backend.attention(q, k, v, options)),
    });
  }
  cases.push(...moduleKvCacheCases());
  return cases;
}
