import { initWeights, isMhaError, MhaErrorCode, randomTensor, referenceForward, resolveConfig, type MhaBackend, type MhaConfig, type MhaErrorCode as Code, type MhaError, type MhaWeights, type Tensor } from '@mha/core';
import { check, ConformanceFailure, expectClose, type CaseContext, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { withModule } from '../util.js';

const SPEC = 'SPEC.md#errors';
const CFG: MhaConfig = { dIn: 4, heads: 2, headDim: 2, causal: true };
const BIAS_CFG: MhaConfig = { ...CFG, qkvBias: true };

/** An expected `value` that is not a literal: the very object passed in, or something only the backend knows. */
class ValueCheck {
  constructor(
    readonly label: string,
    readonly test: (actual: unknown, backend: MhaBackend) => boolean,
  ) {}
}

/** The value must be this exact object (what the caller passed), not a copy or a description of it. */
function same(obj: unknown, label: string): ValueCheck {
  return new ValueCheck(label, (v) => v === obj);
}

function show(v: unknown): string {
  if (v instanceof ValueCheck) return v.label;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})`;
  if (typeof v === 'object' && v !== null) return Object.prototype.toString.call(v);
  return Object.is(v, -0) ? '-0' : String(v);
}

/** Literal equality: `Object.is` for primitives (NaN equals NaN), element-wise for arrays. */
function sameValue(expected: unknown, actual: unknown, backend: MhaBackend): boolean {
  if (expected instanceof ValueCheck) return expected.test(actual, backend);
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => sameValue(e, actual[i], backend));
  return Object.is(expected, actual);
}

/** What core raises for a catalogue entry (SPEC.md, "Errors"): the code, the offending field, the value received. */
export interface ExpectedError {
  readonly code: Code;
  readonly field: string;
  readonly value: unknown;
}

/**
 * Runs `action` and checks the error's code, then its field, then its value against the literal
 * expectation. The messages say which part differed, so a report tells a wrong code from a right code
 * naming the wrong field.
 */
export async function expectError(expected: ExpectedError, what: string, backend: MhaBackend, action: () => Promise<unknown>): Promise<void> {
  let threw: unknown;
  try {
    await action();
  } catch (e) {
    threw = e;
  }
  const { code, field, value } = expected;
  if (threw === undefined) throw new ConformanceFailure(`${what}: expected ${code}, but the call succeeded`);
  if (!isMhaError(threw)) throw new ConformanceFailure(`${what}: expected an MhaError ${code}, got ${String(threw)}`);
  const e = threw as MhaError;
  if (e.code !== code) throw new ConformanceFailure(`${what}: expected ${code}, got ${e.code} (${e.message})`);
  if (e.field !== field) throw new ConformanceFailure(`${what}: right code ${code}, but field '${String(e.field)}' != expected '${field}' (core names the offending input)`);
  if (!sameValue(value, e.value, backend)) {
    throw new ConformanceFailure(`${what}: right code ${code} and field '${field}', but value ${show(e.value)} != expected ${show(value)} (core reports the value received)`);
  }
}

function good() {
  const config = resolveConfig(CFG);
  return { config, weights: initWeights(config, 1), x: randomTensor([1, 3, 4], 2) };
}

const PROBED = ['cross-attention', 'grouped-query', 'value-head-dim', 'softcap'] as const;

type ErrorCase = [name: string, expected: ExpectedError, action: (b: MhaBackend) => Promise<unknown>];

const err = (code: Code, field: string, value: unknown): ExpectedError => ({ code, field, value });

/** errors: the validation catalogue gives the same code, field and value on every backend (SPEC.md, "Errors"). */
export function errorCases(): ConformanceCase[] {
  const forward = async (b: MhaBackend, x: unknown, options?: unknown) => {
    const { config, weights } = good();
    const m = await b.createModule(config, weights);
    try {
      return await m.forward(x as never, options as never);
    } finally {
      await m.dispose();
    }
  };
  const create = (b: MhaBackend, config: unknown, weights?: unknown) => b.createModule(config as MhaConfig, (weights ?? good().weights) as never);
  // Objects whose identity the error must report (the value received, not a copy).
  const strayBias = new Float32Array(4);
  const f64Weight = new Float64Array(16);
  const notATensor = new Float32Array(12);
  const proxyWeight = new Proxy(new Float32Array(16), {});
  class LyingLength extends Float32Array {
    override get length() {
      return 16;
    }
  }
  const table: ErrorCase[] = [
    ['heads-not-dividing-dOut', err(MhaErrorCode.HeadsNotDivisible, 'config.dOut', 6), (b) => create(b, { dIn: 4, dOut: 6, heads: 4 })],
    ['fractional-heads', err(MhaErrorCode.InvalidConfig, 'config.heads', 2.5), (b) => create(b, { dIn: 4, heads: 2.5, headDim: 2 })],
    ['zero-dIn', err(MhaErrorCode.InvalidConfig, 'config.dIn', 0), (b) => create(b, { dIn: 0, heads: 2, headDim: 2 })],
    ['negative-headDim', err(MhaErrorCode.InvalidConfig, 'config.headDim', -2), (b) => create(b, { dIn: 4, heads: 2, headDim: -2 })],
    ['NaN-heads', err(MhaErrorCode.InvalidConfig, 'config.heads', Number.NaN), (b) => create(b, { dIn: 4, heads: Number.NaN, headDim: 2 })],
    ['string-dIn', err(MhaErrorCode.InvalidConfig, 'config.dIn', '4'), (b) => create(b, { dIn: '4', heads: 2, headDim: 2 })],
    ['too-large-to-allocate', err(MhaErrorCode.InvalidConfig, 'config.dOut', 1_000_000), (b) => create(b, { dIn: 1_000_000, heads: 1000, headDim: 1000 })],
    ['non-finite-scale', err(MhaErrorCode.InvalidConfig, 'config.scale', Number.POSITIVE_INFINITY), (b) => create(b, { ...CFG, scale: Number.POSITIVE_INFINITY })],
    ['scale-beyond-float32', err(MhaErrorCode.InvalidConfig, 'config.scale', 3.5e38), (b) => create(b, { ...CFG, scale: 3.5e38 })],
    ['negative-scale-beyond-float32', err(MhaErrorCode.InvalidConfig, 'config.scale', -1e39), (b) => create(b, { ...CFG, scale: -1e39 })],
    ['bogus-scale-spread-over-resolved-config', err(MhaErrorCode.InvalidConfig, 'config.scale', 'bogus'), (b) => create(b, { ...resolveConfig(CFG), scale: 'bogus' })],
    ['unknown-config-field', err(MhaErrorCode.InvalidConfig, 'config.num_heads', 2), (b) => create(b, { ...CFG, num_heads: 2 })],
    ['weight-wrong-length', err(MhaErrorCode.WeightShape, 'weights.wq', 7), (b) => create(b, CFG, { ...good().weights, wq: new Float32Array(7) })],
    ['weight-missing-bias', err(MhaErrorCode.WeightShape, 'weights.bq', undefined), (b) => create(b, BIAS_CFG, good().weights)],
    ['weight-unexpected-bias', err(MhaErrorCode.WeightShape, 'weights.bq', same(strayBias, 'the Float32Array(4) passed as bq')), (b) => create(b, CFG, { ...good().weights, bq: strayBias })],
    ['weight-missing-out-proj', err(MhaErrorCode.WeightShape, 'weights.wo', undefined), (b) => create(b, CFG, { ...good().weights, wo: undefined })],
    ['weight-float64', err(MhaErrorCode.InvalidType, 'weights.wk', same(f64Weight, 'the Float64Array(16) passed as wk')), (b) => create(b, CFG, { ...good().weights, wk: f64Weight })],
    ['weight-proxy', err(MhaErrorCode.InvalidType, 'weights.wq', same(proxyWeight, 'the Proxy passed as wq')), (b) => create(b, CFG, { ...good().weights, wq: proxyWeight })],
    // Real length 7, claims 16: judged by what it holds.
    ['weight-subclass-lying-about-length', err(MhaErrorCode.WeightShape, 'weights.wk', 7), (b) => create(b, CFG, { ...good().weights, wk: new LyingLength(7) })],
    ['x-length-mismatch', err(MhaErrorCode.ShapeMismatch, 'x.data', 11), (b) => forward(b, { data: new Float32Array(11), shape: [1, 3, 4] })],
    ['x-dIn-mismatch', err(MhaErrorCode.DimMismatch, 'x.shape[2]', 5), (b) => forward(b, randomTensor([1, 3, 5], 3))],
    ['x-rank-2', err(MhaErrorCode.InvalidShape, 'x.shape', [3, 4]), (b) => forward(b, randomTensor([3, 4], 3))],
    ['x-negative-dim', err(MhaErrorCode.InvalidShape, 'x.shape[1]', -3), (b) => forward(b, { data: new Float32Array(0), shape: [1, -3, 4] })],
    ['x-fractional-dim', err(MhaErrorCode.InvalidShape, 'x.shape[1]', 1.5), (b) => forward(b, { data: new Float32Array(6), shape: [1, 1.5, 4] })],
    ['x-float64', err(MhaErrorCode.InvalidType, 'x.data', 'Float64Array'), (b) => forward(b, { data: new Float64Array(12), shape: [1, 3, 4] })],
    ['x-plain-array', err(MhaErrorCode.InvalidType, 'x.data', 'Array'), (b) => forward(b, { data: new Array(12).fill(0), shape: [1, 3, 4] })],
    ['x-not-a-tensor', err(MhaErrorCode.InvalidType, 'x', same(notATensor, 'the bare Float32Array(12) passed as x')), (b) => forward(b, notATensor)],
    ['x-NaN', err(MhaErrorCode.NonFinite, 'x.data[5]', Number.NaN), (b) => forward(b, { data: Float32Array.from({ length: 12 }, (_, i) => (i === 5 ? Number.NaN : 0)), shape: [1, 3, 4] })],
    ['x-Infinity', err(MhaErrorCode.NonFinite, 'x.data[0]', -Infinity), (b) => forward(b, { data: Float32Array.from({ length: 12 }, (_, i) => (i === 0 ? -Infinity : 0)), shape: [1, 3, 4] })],
    ['weight-NaN', err(MhaErrorCode.NonFinite, 'weights.wv[0]', Number.NaN), (b) => create(b, CFG, { ...good().weights, wv: new Float32Array(16).fill(Number.NaN) })],
    [
      'weights-too-large-to-return',
      err(MhaErrorCode.InvalidShape, 'x.shape[1]', 50_000),
      // x is small (50,000 floats) but [1, 1, 50000, 50000] weights would be 2.5e9 elements: refuse before allocating.
      (b) => b.createModule({ dIn: 1, heads: 1, headDim: 1 }, { wq: new Float32Array(1), wk: new Float32Array(1), wv: new Float32Array(1), wo: new Float32Array(1), bo: new Float32Array(1) }).then(async (m) => {
        try {
          return await m.forward({ data: new Float32Array(50_000), shape: [1, 50_000, 1] }, { returnAttentionWeights: true });
        } finally {
          await m.dispose();
        }
      }),
    ],
    ['core-op-NaN-key', err(MhaErrorCode.NonFinite, 'k.data[0]', Number.NaN), (b) => b.attention(randomTensor([1, 1, 2, 4], 1), { data: new Float32Array(8).fill(Number.NaN), shape: [1, 1, 2, 4] }, randomTensor([1, 1, 2, 4], 3))],
    ['option-wrong-type', err(MhaErrorCode.InvalidType, 'options.returnAttentionWeights', 'yes'), (b) => forward(b, good().x, { returnAttentionWeights: 'yes' })],
    ['option-unknown', err(MhaErrorCode.InvalidOption, 'options.softcap', 1), (b) => forward(b, good().x, { softcap: 1 })],
    [
      'forward-after-dispose',
      err(MhaErrorCode.Disposed, 'module', new ValueCheck("the backend's name", (v, b) => v === b.name)),
      async (b) => {
        const { config, weights, x } = good();
        const m = await b.createModule(config, weights);
        await m.dispose();
        return m.forward(x);
      },
    ],
    ['core-op-head-size-mismatch', err(MhaErrorCode.DimMismatch, 'k.shape[3]', 5), (b) => b.attention(randomTensor([1, 2, 3, 4], 1), randomTensor([1, 2, 3, 5], 2), randomTensor([1, 2, 3, 4], 3))],
    ['core-op-batch-mismatch', err(MhaErrorCode.DimMismatch, 'k.shape[0]', 1), (b) => b.attention(randomTensor([2, 2, 3, 4], 1), randomTensor([1, 2, 3, 4], 2), randomTensor([1, 2, 3, 4], 3))],
    ['core-op-rank-3', err(MhaErrorCode.InvalidShape, 'q.shape', [2, 3, 4]), (b) => b.attention(randomTensor([2, 3, 4], 1), randomTensor([2, 3, 4], 2), randomTensor([2, 3, 4], 3))],
    ['core-op-kv-heads-not-dividing', err(MhaErrorCode.DimMismatch, 'k.shape[1]', 2), (b) => b.attention(randomTensor([1, 3, 2, 4], 1), randomTensor([1, 2, 2, 4], 2), randomTensor([1, 2, 2, 4], 3))],
    ['core-op-NaN-scale', err(MhaErrorCode.InvalidOption, 'options.scale', Number.NaN), (b) => b.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3), { scale: Number.NaN })],
  ];
  const cases: ConformanceCase[] = table.map(([name, expected, action]) => ({
    id: `errors/${name}`,
    group: 'errors' as const,
    spec: SPEC,
    title: `${name.replace(/-/g, ' ')} -> ${expected.code} naming ${expected.field}`,
    run: ({ backend }) => expectError(expected, name, backend, () => action(backend)),
  }));
  cases.push(...configContractCases());
  cases.push({
    id: 'errors/unsupported-capability-is-refused',
    group: 'errors',
    spec: 'SPEC.md#capabilities',
    title: 'a core-op call needing an undeclared capability raises MHA_UNSUPPORTED instead of computing something',
    async run({ backend }) {
      const probes = [
        ['cross-attention', () => backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 3, 4], 2), randomTensor([1, 1, 3, 4], 3))],
        ['grouped-query', () => backend.attention(randomTensor([1, 2, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3))],
        ['value-head-dim', () => backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 3], 3))],
        ['softcap', () => backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3), { softcap: 2 })],
      ] as const;
      for (const [cap, call] of probes) {
        if (backend.capabilities.includes(cap)) continue;
        await expectError(err(MhaErrorCode.Unsupported, 'capability', cap), `undeclared ${cap}`, backend, call);
      }
    },
  });
  return cases;
}

/** The module's output on `x`, as a float32 tensor. */
async function outputOf(m: { forward(x: Tensor): Promise<{ output: Tensor }> }, x: Tensor): Promise<Tensor> {
  return (await m.forward(x)).output;
}

/**
 * Contracts on what a module reads from the caller's config and weights objects: own properties,
 * once, at creation (SPEC.md, "Config" and "Lifecycle"). Core implements them; a backend that keeps
 * the caller's objects, or reads them later, breaks them.
 */
function configContractCases(): ConformanceCase[] {
  const plain: MhaConfig = { dIn: 4, heads: 2, headDim: 2, causal: true };
  const x = randomTensor([2, 3, 4], 21);
  return [
    {
      id: 'errors/module-config-cannot-change-the-module',
      group: 'errors',
      spec: 'SPEC.md#config',
      title: "assigning to module.config or to the caller's config object afterwards either throws or changes nothing",
      async run(ctx: CaseContext) {
        const callers = { ...plain };
        await withModule(ctx.backend, callers, initWeights(resolveConfig(plain), 3), async (m) => {
          const before = await outputOf(m, x);
          callers.causal = false;
          callers.dIn = 5;
          for (const [key, value] of [['causal', false], ['scale', 10], ['dIn', 5], ['heads', 1], ['headDim', 4], ['outProj', false]] as const) {
            try {
              Reflect.set(m.config, key, value);
            } catch {
              // Refusing the assignment (a frozen config in strict code) is one of the two allowed outcomes.
            }
          }
          let after: Tensor;
          try {
            after = await outputOf(m, x);
          } catch (e) {
            throw new ConformanceFailure(`after assigning to module.config, forward threw ${e instanceof Error ? e.message : String(e)}: the module read the changed config`);
          }
          expectClose(ctx, 'output after assigning to module.config and to the caller config', compare(after, before, { atol: 0, rtol: 0 }));
          check(m.config.causal === true && m.config.dIn === 4 && m.config.heads === 2, `module.config now reads causal=${String(m.config.causal)}, dIn=${String(m.config.dIn)}, heads=${String(m.config.heads)}: it is mutable`);
        });
      },
    },
    {
      id: 'errors/config-inherited-fields-are-ignored',
      group: 'errors',
      spec: 'SPEC.md#config',
      title: 'a config object whose prototype carries causal / scale / qkvBias is read by its own fields only',
      async run(ctx: CaseContext) {
        const own: MhaConfig = { dIn: 4, heads: 2, headDim: 2 };
        const inherited = Object.assign(Object.create({ causal: true, scale: 100, qkvBias: true }) as object, own) as MhaConfig;
        const weights = initWeights(resolveConfig(own), 4);
        const expected = referenceForward(resolveConfig(own), weights, x).output;
        await withModule(ctx.backend, inherited, weights, async (m) => {
          check(!m.config.causal && !m.config.qkvBias && m.config.defaultScale, `module.config took inherited fields: ${JSON.stringify(m.config)}`);
          expectClose(ctx, 'output vs the float64 reference of the own fields', compare(await outputOf(m, x), expected, ctx.tolerance));
        });
      },
    },
    {
      id: 'errors/weights-are-read-once-and-copied',
      group: 'errors',
      spec: 'SPEC.md#lifecycle',
      title: "each weight is read once at creation and copied: a getter swapping in NaN later, or a subclass whose Symbol.species returns the caller's array, changes nothing",
      async run(ctx: CaseContext) {
        const cfg = resolveConfig(plain);
        const original = initWeights(cfg, 5);
        const expected = referenceForward(cfg, original, x).output;
        const sneaky: Float32Array = new (speciesReturning((): Float32Array => sneaky))(original.wk);
        let reads = 0;
        const weights = { ...original, wk: sneaky } as MhaWeights;
        Object.defineProperty(weights, 'wq', {
          enumerable: true,
          get: () => (++reads === 1 ? original.wq : new Float32Array(original.wq.length).fill(Number.NaN)),
        });
        await withModule(ctx.backend, cfg, weights, async (m) => {
          // The caller rewrites its arrays after creation: a module that kept them (e.g. via a
          // species-following slice) would now compute with these.
          sneaky.fill(7);
          expectClose(ctx, 'output vs the float64 reference of the weights at creation', compare(await outputOf(m, x), expected, ctx.tolerance));
        });
      },
    },
  ];
}

/** A Float32Array subclass whose `Symbol.species` constructor returns `target()`: `.slice()` then hands back the caller's own array. */
function speciesReturning(target: () => Float32Array) {
  return class extends Float32Array {
    static get [Symbol.species]() {
      return function () {
        return target();
      } as unknown as Float32ArrayConstructor;
    }
  };
}
