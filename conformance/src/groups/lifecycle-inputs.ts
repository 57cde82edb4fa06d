import { initWeights, isMhaError, MhaErrorCode, randomTensor, referenceForward, resolveConfig, type AttentionOptions, type MhaBackend, type MhaConfig, type MhaModule, type Tensor } from '@mha/core';
import { check, ConformanceFailure, expectClose, type CaseContext, type ConformanceCase } from '../case.js';
import { compare, type Tolerance } from '../compare.js';
import { withModule } from '../util.js';

const SPEC = 'SPEC.md#lifecycle';
const EXACT: Tolerance = { atol: 0, rtol: 0 };
const CONFIG: MhaConfig = { dIn: 8, heads: 2, headDim: 4, causal: true, qkvBias: true };
const SHAPE = [2, 5, 8];
/** Large enough that ts-threads splits every phase over its workers (> 262,144 multiply-adds per thread). */
const LARGE: MhaConfig = { dIn: 64, dOut: 64, heads: 4, causal: true, qkvBias: true };
const LARGE_SHAPE = [2, 128, 64];

type Call<R> = (data: Float32Array) => Promise<R>;
type Outputs = readonly Tensor[];

function expectSame(ctx: CaseContext, what: string, actual: Outputs, expected: Outputs): void {
  expected.forEach((e, i) => expectClose(ctx, `${what} (tensor ${i})`, compare(actual[i]!, e, EXACT)));
}

const fresh = (shape: readonly number[], seed: number) => randomTensor(shape, seed).data;
const copyOf = (t: Tensor): Tensor => ({ data: Float32Array.from(t.data), shape: [...t.shape] });

/** Every output of a module forward (with weights) or a core-op call (with weights). */
const moduleCall = (m: MhaModule, shape: readonly number[]): Call<Outputs> => async (data) => {
  const r = await m.forward({ data, shape }, { returnAttentionWeights: true });
  return [r.output, r.attentionWeights!];
};
const coreCall = (b: MhaBackend, options: AttentionOptions = {}): Call<Outputs> => {
  const k = randomTensor([1, 2, 5, 4], 21);
  const v = randomTensor([1, 2, 5, 4], 22);
  return async (data) => {
    const r = await b.attention({ data, shape: [1, 2, 5, 4] }, k, v, { causal: true, returnWeights: true, ...options });
    return [r.output, r.weights!];
  };
};
const Q_SHAPE = [1, 2, 5, 4];

/** The buffer-hygiene checks, for one way of calling (module forward or core op) and one input shape. */
function hygiene(name: string, shape: readonly number[], withCall: (ctx: CaseContext, fn: (call: Call<Outputs>) => Promise<void>) => Promise<void>): ConformanceCase[] {
  const expectedFor = async (call: Call<Outputs>, seeds: readonly number[]) => {
    const out: Outputs[] = [];
    for (const s of seeds) out.push(await call(fresh(shape, s)));
    return out;
  };
  return [
    {
      id: `lifecycle/refilled-buffer/sequential/${name}`,
      group: 'lifecycle',
      spec: SPEC,
      title: `${name}: one input buffer refilled between awaited calls gives each fill's own result (no caching by identity or shape)`,
      run: (ctx) =>
        withCall(ctx, async (call) => {
          const [ea, eb] = await expectedFor(call, [1, 2]);
          const buf = new Float32Array(fresh(shape, 1));
          const ra = await call(buf);
          buf.set(fresh(shape, 2));
          const rb = await call(buf);
          expectSame(ctx, 'first fill', ra, ea!);
          expectSame(ctx, 'second fill of the same buffer', rb, eb!);
        }),
    },
    {
      id: `lifecycle/refilled-buffer/concurrent/${name}`,
      group: 'lifecycle',
      spec: SPEC,
      title: `${name}: fill, call, refill, call, then await both: each call sees the fill it was made with`,
      run: (ctx) =>
        withCall(ctx, async (call) => {
          const [ea, eb] = await expectedFor(call, [3, 4]);
          const buf = new Float32Array(fresh(shape, 3));
          const pa = call(buf);
          buf.set(fresh(shape, 4));
          const pb = call(buf);
          const [ra, rb] = await Promise.all([pa, pb]);
          expectSame(ctx, 'call made with the first fill', ra, ea!);
          expectSame(ctx, 'call made with the second fill', rb, eb!);
        }),
    },
    {
      id: `lifecycle/overwritten-after-call/${name}`,
      group: 'lifecycle',
      spec: SPEC,
      title: `${name}: writing NaN into the input right after the call returns (before awaiting it) does not change the result`,
      run: (ctx) =>
        withCall(ctx, async (call) => {
          const [e] = await expectedFor(call, [5]);
          const buf = new Float32Array(fresh(shape, 5));
          const p = call(buf);
          buf.fill(Number.NaN);
          expectSame(ctx, 'result after the input was overwritten with NaN', await p, e!);
        }),
    },
    {
      id: `lifecycle/result-not-aliased/${name}`,
      group: 'lifecycle',
      spec: SPEC,
      title: `${name}: a returned result does not change when the next call runs (no reused scratch in results)`,
      run: (ctx) =>
        withCall(ctx, async (call) => {
          const first = await call(fresh(shape, 6));
          const saved = first.map(copyOf);
          await call(fresh(shape, 7));
          expectSame(ctx, 'first result after a second call', first, saved);
        }),
    },
  ];
}

const moduleHygiene = (config: MhaConfig, shape: readonly number[]) => (ctx: CaseContext, fn: (call: Call<Outputs>) => Promise<void>) => {
  const cfg = resolveConfig(config);
  return withModule(ctx.backend, cfg, initWeights(cfg, 11), (m) => fn(moduleCall(m, shape)));
};

/**
 * Expects an MhaError with `code` naming some field. Which field and value is the errors group's business
 * (it checks them for every catalogue entry); here the point is a typed error instead of a TypeError.
 */
async function expectError(what: string, action: () => Promise<unknown>, code: string): Promise<void> {
  let threw: unknown;
  try {
    await action();
  } catch (e) {
    threw = e;
  }
  if (threw === undefined) throw new ConformanceFailure(`${what}: expected ${code}, but the call succeeded`);
  if (!isMhaError(threw)) throw new ConformanceFailure(`${what}: expected an MhaError ${code}, got ${threw instanceof Error ? `${threw.name}: ${threw.message}` : String(threw)}`);
  check(threw.code === code, `${what}: expected ${code}, got ${threw.code} (${threw.message})`);
  check(typeof threw.field === 'string' && threw.field.length > 0, `${what}: the error must name the offending field`);
}

function detached(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

/** A Float32Array subclass whose `length` lies (claims 600 elements). */
class LyingLength extends Float32Array {
  override get length(): number {
    return 600;
  }
}

function scaled(t: Tolerance, magnitude: number): Tolerance {
  return { atol: t.atol * Math.max(1, magnitude), rtol: t.rtol };
}
const maxAbs = (d: ArrayLike<number>) => Array.from(d).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** lifecycle cases on how inputs are read (SPEC.md, "Lifecycle"), robust input types, dk = 0, overflow, and resources. */
export function inputCases(): ConformanceCase[] {
  const cfg = resolveConfig(CONFIG);
  const largeCfg = resolveConfig(LARGE);
  const cases: ConformanceCase[] = [
    ...hygiene(`forward/B=${SHAPE[0]},T=${SHAPE[1]},dIn=${SHAPE[2]}`, SHAPE, moduleHygiene(CONFIG, SHAPE)),
    ...hygiene('core-op/B=1,H=2,T=5,d=4', Q_SHAPE, (_ctx, fn) => fn(coreCall(_ctx.backend))),
    ...hygiene(`forward/B=${LARGE_SHAPE[0]},T=${LARGE_SHAPE[1]},dIn=${LARGE_SHAPE[2]}`, LARGE_SHAPE, moduleHygiene(LARGE, LARGE_SHAPE)),
    {
      id: `lifecycle/large-input-vs-reference/B=${LARGE_SHAPE[0]},T=${LARGE_SHAPE[1]},dIn=64,dOut=64`,
      group: 'lifecycle',
      spec: SPEC,
      title: 'an input large enough for worker threads, refilled and overwritten while calls run, matches the float64 reference',
      async run(ctx) {
        const w = initWeights(largeCfg, 12);
        const [xa, xb] = [fresh(LARGE_SHAPE, 13), fresh(LARGE_SHAPE, 14)];
        await withModule(ctx.backend, largeCfg, w, async (m) => {
          const buf = new Float32Array(xa);
          const pa = m.forward({ data: buf, shape: LARGE_SHAPE });
          buf.set(xb);
          const pb = m.forward({ data: buf, shape: LARGE_SHAPE });
          buf.fill(Number.NaN);
          const [ra, rb] = await Promise.all([pa, pb]);
          for (const [r, x, what] of [[ra, xa, 'first fill'], [rb, xb, 'second fill']] as const) {
            const ref = referenceForward(largeCfg, w, { data: x, shape: LARGE_SHAPE }).output;
            expectClose(ctx, what, compare(r.output, ref, scaled(ctx.tolerance, maxAbs(ref.data))));
          }
        });
      },
    },
    {
      id: 'lifecycle/core-op-inputs-untouched',
      group: 'lifecycle',
      spec: SPEC,
      title: 'the core op leaves q, k and v bit-for-bit untouched',
      async run({ backend }) {
        const [q, k, v] = [randomTensor(Q_SHAPE, 31), randomTensor(Q_SHAPE, 32), randomTensor(Q_SHAPE, 33)];
        const before = [q, k, v].map((t) => Uint32Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)));
        await backend.attention(q, k, v, { causal: true, returnWeights: true, scale: 0.7 });
        [q, k, v].forEach((t, i) => {
          const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
          check(bits.every((b, j) => b === before[i]![j]), `the core op modified ${'qkv'[i]}`);
        });
      },
    },
    {
      id: 'lifecycle/core-op-inputs-untouched/mask',
      group: 'lifecycle',
      spec: SPEC,
      title: 'the core op leaves q, k, v and bool / additive masks untouched',
      needs: ['attn-mask'],
      async run({ backend }) {
        const [q, k, v] = [randomTensor(Q_SHAPE, 34), randomTensor(Q_SHAPE, 35), randomTensor(Q_SHAPE, 36)];
        const bool = { kind: 'bool' as const, data: Uint8Array.from({ length: 25 }, (_, i) => (i % 3 === 0 ? 0 : 1)), shape: [5, 5] };
        const additive = { kind: 'additive' as const, data: Float32Array.from({ length: 25 }, (_, i) => (i % 4 === 0 ? -Infinity : i / 10)), shape: [5, 5] };
        for (const mask of [bool, additive]) {
          const saved = [q.data, k.data, v.data, mask.data].map((d) => Array.from(d));
          await backend.attention(q, k, v, { mask, returnWeights: true });
          [q.data, k.data, v.data, mask.data].forEach((d, i) => check(Array.from(d).every((x, j) => Object.is(x, saved[i]![j])), `the core op modified ${['q', 'k', 'v', `the ${mask.kind} mask`][i]}`));
        }
      },
    },
    {
      id: 'lifecycle/concurrent-modules/modules=3',
      group: 'lifecycle',
      spec: SPEC,
      title: 'forwards interleaved across three modules of one backend return what each module returns alone',
      async run(ctx) {
        const modules = await Promise.all([1, 2, 3].map((s) => ctx.backend.createModule(cfg, initWeights(cfg, 40 + s))));
        try {
          const inputs = Array.from({ length: 4 }, (_, i) => randomTensor(SHAPE, 50 + i));
          const alone: Tensor[][] = [];
          for (const m of modules) {
            const row: Tensor[] = [];
            for (const x of inputs) row.push((await m.forward(x)).output);
            alone.push(row);
          }
          // At any moment each module works on a different input, so a buffer shared between modules shows.
          const together = await Promise.all(inputs.flatMap((_, s) => modules.map((m, j) => {
            const i = (s + j) % inputs.length;
            return m.forward(inputs[i]!).then((r) => [j, i, r.output] as const);
          })));
          for (const [j, i, out] of together) expectClose(ctx, `module ${j}, input ${i}, run concurrently with the others`, compare(out, alone[j]![i]!, EXACT));
        } finally {
          await Promise.all(modules.map((m) => m.dispose()));
        }
      },
    },
    {
      id: 'lifecycle/diagnostics-baseline',
      group: 'lifecycle',
      spec: SPEC,
      title: 'diagnostics() returns to its baseline once modules (disposed twice, concurrently) and the backend are disposed',
      async run({ backend }) {
        await backend.dispose();
        const base = JSON.stringify(backend.diagnostics());
        const x = randomTensor(SHAPE, 60);
        const run = (m: MhaModule) => Promise.all([m.forward(x), m.forward(x, { returnAttentionWeights: true, trace: true })]);
        // Warm-up: whatever backend-level resources these forwards start (workers, shared sessions) stay
        // until backend.dispose(), so the module-level check compares with the counters after it.
        await withModule(backend, cfg, initWeights(cfg, 59), run);
        const warm = JSON.stringify(backend.diagnostics());
        const a = await backend.createModule(cfg, initWeights(cfg, 61));
        const b = await backend.createModule(cfg, initWeights(cfg, 62));
        await Promise.all([run(a), run(b)]);
        // Awaiting only the second of two concurrent dispose() calls: it must not resolve before the first freed the module.
        const firstA = a.dispose();
        const firstB = b.dispose();
        await Promise.all([a.dispose(), b.dispose()]);
        const afterModules = JSON.stringify(backend.diagnostics());
        await Promise.all([firstA, firstB]);
        check(afterModules === warm, `after every module was disposed, diagnostics() is ${afterModules}, before they were created ${warm}`);
        await backend.attention(randomTensor(Q_SHAPE, 63), randomTensor(Q_SHAPE, 64), randomTensor(Q_SHAPE, 65), { causal: true });
        await backend.dispose();
        const after = JSON.stringify(backend.diagnostics());
        check(after === base, `after backend.dispose(), diagnostics() is ${after}, baseline ${base}`);
      },
    },
    {
      id: 'lifecycle/backend-dispose-then-use',
      group: 'lifecycle',
      spec: SPEC,
      title: 'backend.dispose() frees backend-level caches only: live modules, new modules and the core op keep working, with the same results',
      async run(ctx) {
        const x = randomTensor(SHAPE, 70);
        const [q, k, v] = [randomTensor(Q_SHAPE, 71), randomTensor(Q_SHAPE, 72), randomTensor(Q_SHAPE, 73)];
        const w = initWeights(cfg, 74);
        await withModule(ctx.backend, cfg, w, async (m) => {
          const y = (await m.forward(x)).output;
          const a = (await ctx.backend.attention(q, k, v, { causal: true })).output;
          await Promise.all([ctx.backend.dispose(), ctx.backend.dispose()]);
          expectClose(ctx, 'a live module after backend.dispose()', compare((await m.forward(x)).output, y, EXACT));
          expectClose(ctx, 'the core op after backend.dispose()', compare((await ctx.backend.attention(q, k, v, { causal: true })).output, a, EXACT));
          await withModule(ctx.backend, cfg, w, async (m2) => expectClose(ctx, 'a module created after backend.dispose()', compare((await m2.forward(x)).output, y, EXACT)));
        });
        await ctx.backend.dispose();
      },
    },
    {
      id: 'lifecycle/core-op-dk-0/B=1,H=2,T=4,dv=3',
      group: 'lifecycle',
      spec: 'SPEC.md#core-op',
      title: 'dk = 0: every score is 0, so the weights are uniform over the visible keys and the output is the mean of their values',
      needs: ['value-head-dim'],
      async run(ctx) {
        const q = { data: new Float32Array(0), shape: [1, 2, 4, 0] };
        const v = randomTensor([1, 2, 4, 3], 80);
        for (const causal of [false, true]) {
          const r = await ctx.backend.attention(q, q, v, { causal, returnWeights: true });
          // Oracle written here: query i sees keys 0..i (causal) or all 4, each with weight 1/count.
          const w = new Float64Array(2 * 4 * 4);
          const out = new Float64Array(2 * 4 * 3);
          for (let h = 0; h < 2; h++)
            for (let i = 0; i < 4; i++) {
              const n = causal ? i + 1 : 4;
              for (let j = 0; j < n; j++) {
                w[(h * 4 + i) * 4 + j] = 1 / n;
                for (let d = 0; d < 3; d++) out[(h * 4 + i) * 3 + d]! += v.data[(h * 4 + j) * 3 + d]! / n;
              }
            }
          expectClose(ctx, `weights (causal: ${causal})`, compare(r.weights!, { data: w, shape: [1, 2, 4, 4] }, ctx.tolerance));
          expectClose(ctx, `output (causal: ${causal})`, compare(r.output, { data: out, shape: [1, 2, 4, 3] }, ctx.tolerance));
        }
      },
    },
    {
      id: 'lifecycle/input-types/proxy',
      group: 'lifecycle',
      spec: 'SPEC.md#errors',
      title: 'a Proxy of a Float32Array (instanceof passes, internal slots missing) is MHA_INVALID_TYPE, not a TypeError',
      async run({ backend }) {
        await withModule(backend, cfg, initWeights(cfg, 90), async (m) => {
          await expectError('forward', () => m.forward({ data: new Proxy(randomTensor(SHAPE, 91).data, {}), shape: SHAPE }), MhaErrorCode.InvalidType);
        });
        const t = randomTensor(Q_SHAPE, 92);
        await expectError('core op', () => backend.attention(t, { data: new Proxy(t.data, {}), shape: Q_SHAPE }, t), MhaErrorCode.InvalidType);
      },
    },
    {
      id: 'lifecycle/input-types/detached-buffer',
      group: 'lifecycle',
      spec: 'SPEC.md#empty-inputs',
      title: 'a typed array with a detached buffer: valid with an empty shape (empty result), MHA_SHAPE_MISMATCH otherwise',
      async run({ backend }) {
        await withModule(backend, cfg, initWeights(cfg, 93), async (m) => {
          const r = await m.forward({ data: detached(8), shape: [0, 5, 8] });
          check(r.output.data.length === 0 && r.output.shape.join() === `0,5,${cfg.dOut}`, `empty forward returned shape [${r.output.shape.join()}]`);
          await expectError('forward', () => m.forward({ data: detached(80), shape: SHAPE }), MhaErrorCode.ShapeMismatch);
        });
        const t = randomTensor(Q_SHAPE, 94);
        await expectError('core op', () => backend.attention(t, t, { data: detached(40), shape: Q_SHAPE }), MhaErrorCode.ShapeMismatch);
      },
    },
    {
      id: 'lifecycle/input-types/lying-length',
      group: 'lifecycle',
      spec: SPEC,
      title: 'a Float32Array subclass whose length getter lies is measured by its real length and computed correctly',
      async run(ctx) {
        const x = randomTensor(SHAPE, 95);
        const liar = new LyingLength(x.data.length);
        liar.set(x.data);
        await withModule(ctx.backend, cfg, initWeights(cfg, 96), async (m) => {
          const y = (await m.forward(x)).output;
          expectClose(ctx, 'output from the subclass', compare((await m.forward({ data: liar, shape: SHAPE })).output, y, EXACT));
          await expectError('a shape matching the lie', () => m.forward({ data: liar, shape: [1, 75, 8] }), MhaErrorCode.ShapeMismatch);
        });
      },
    },
    forwardOverflowCase('forward', 1, 'finite inputs whose projections exceed float32 give the right finite answer or MHA_OVERFLOW, never NaN or Infinity'),
    coreOverflowCase('core-op', 1, 'finite q/k whose scores exceed float32 give the right finite answer or MHA_OVERFLOW, never NaN or Infinity'),
    // Every score below -float32 max (-Infinity in float32) while no key is masked: zeros would take the
    // overflow for a fully masked row, a finite wrong answer core cannot see.
    coreOverflowCase('core-op-negative', -1, 'finite q/k whose scores all fall below -float32 max give the right finite answer or MHA_OVERFLOW, never the zeros of a fully masked row'),
    forwardOverflowCase('forward-negative', -1, 'finite inputs whose projected scores all fall below -float32 max give the right finite answer or MHA_OVERFLOW, never zeros'),
    {
      id: 'lifecycle/overflow/module-features-negative',
      group: 'lifecycle',
      spec: 'SPEC.md#non-finite-values',
      title: 'a grouped-query module whose q/k projections leave float32 (every score -Infinity) gives the right finite answer or MHA_OVERFLOW, never zeros',
      async run(ctx) {
        const config = resolveConfig({ dIn: 2, heads: 2, headDim: 1, kvHeads: 1, outProj: false });
        const w = { wq: Float32Array.from([-1e20, 0, 0, -1e20]), wk: Float32Array.from([1e20, 1e20]), wv: Float32Array.from([1, 2]) };
        const x = { data: Float32Array.from([1e19, 5e18, 5e18, 1e19, 2e19, 1e19]), shape: [1, 3, 2] };
        await overflowCheck(ctx, 'forward', /^(output|weights|q|k|v)\[\d+\]$/, async () => {
          const r = await withModule(ctx.backend, config, w, (m) => m.forward(x));
          return [[r.output, referenceForward(config, w, x).output]];
        });
      },
    },
  ];
  return cases;
}

/**
 * Module case: q = sign * x * 1e20, k = x * 1e20 (~1e39, beyond float32); the float64 answer (one-hot
 * weights on each query's largest score, output = that key's v) is finite.
 */
function forwardOverflowCase(name: string, sign: 1 | -1, title: string): ConformanceCase {
  return {
    id: `lifecycle/overflow/${name}`,
    group: 'lifecycle',
    spec: 'SPEC.md#non-finite-values',
    title,
    async run(ctx) {
      const config = resolveConfig({ dIn: 2, heads: 1, headDim: 2, outProj: false });
      const w = { wq: Float32Array.from([sign * 1e20, 0, 0, sign * 1e20]), wk: Float32Array.from([1e20, 0, 0, 1e20]), wv: Float32Array.from([1, 0, 0, 1]) };
      const x = { data: Float32Array.from([1e19, 5e18, 5e18, 1e19, 2e19, 1e19]), shape: [1, 3, 2] };
      await overflowCheck(ctx, 'forward', /^(output|attentionWeights)\[\d+\]$/, async () => {
        const r = await withModule(ctx.backend, config, w, (m) => m.forward(x, { returnAttentionWeights: true }));
        const ref = referenceForward(config, w, x);
        return [
          [r.output, ref.output],
          [r.attentionWeights!, ref.attentionWeights],
        ];
      });
    },
  };
}

/**
 * Core-op case: q = sign * k with k ~ 1e20, scores ~ sign * 1e40. Each query's softmax is one-hot on its
 * largest score: key 1 for both queries when sign = 1, key 0 when sign = -1.
 */
function coreOverflowCase(name: string, sign: 1 | -1, title: string): ConformanceCase {
  return {
    id: `lifecycle/overflow/${name}`,
    group: 'lifecycle',
    spec: 'SPEC.md#non-finite-values',
    title,
    async run(ctx) {
      const k = { data: Float32Array.from([1e20, 2e20, 4e20, 1e20]), shape: [1, 1, 2, 2] };
      const q = { data: k.data.map((x) => sign * x), shape: k.shape };
      const v = randomTensor([1, 1, 2, 2], sign > 0 ? 97 : 98);
      const key = sign > 0 ? 1 : 0;
      await overflowCheck(ctx, 'core op', /^(output|weights)\[\d+\]$/, async () => {
        const r = await ctx.backend.attention(q, k, v, { returnWeights: true });
        const oneHot = { data: key ? [0, 1, 0, 1] : [1, 0, 1, 0], shape: [1, 1, 2, 2] };
        const vk = [v.data[2 * key]!, v.data[2 * key + 1]!];
        return [
          [r.output, { data: [...vk, ...vk], shape: [1, 1, 2, 2] }],
          [r.weights!, oneHot],
        ];
      });
    },
  };
}

async function overflowCheck(ctx: CaseContext, what: string, field: RegExp, run: () => Promise<[Tensor, { data: ArrayLike<number>; shape: readonly number[] }][]>): Promise<void> {
  let pairs: [Tensor, { data: ArrayLike<number>; shape: readonly number[] }][];
  try {
    pairs = await run();
  } catch (e) {
    if (isMhaError(e, MhaErrorCode.Overflow)) {
      check(field.test(e.field), `${what}: MHA_OVERFLOW must name the element, got field ${e.field}`);
      check(!Number.isFinite(e.value as number), `${what}: MHA_OVERFLOW value must be the non-finite element, got ${String(e.value)}`);
      return;
    }
    throw e;
  }
  for (const [actual, expected] of pairs) expectClose(ctx, `${what}: the finite answer`, compare(actual, expected, scaled(ctx.tolerance, maxAbs(expected.data))));
}
