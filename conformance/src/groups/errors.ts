import { initWeights, isMhaError, MhaErrorCode, randomTensor, resolveConfig, type MhaBackend, type MhaConfig, type MhaErrorCode as Code } from '@mha/core';
import { ConformanceFailure, type ConformanceCase } from '../case.js';

const SPEC = 'SPEC.md#errors';
const CFG: MhaConfig = { dIn: 4, heads: 2, headDim: 2, causal: true };
const BIAS_CFG: MhaConfig = { ...CFG, qkvBias: true };

async function expectCode(code: Code, what: string, action: () => Promise<unknown>): Promise<void> {
  let threw: unknown;
  try {
    await action();
  } catch (e) {
    threw = e;
  }
  if (threw === undefined) throw new ConformanceFailure(`${what}: expected ${code}, but the call succeeded`);
  if (!isMhaError(threw)) throw new ConformanceFailure(`${what}: expected an MhaError ${code}, got ${String(threw)}`);
  if (threw.code !== code) throw new ConformanceFailure(`${what}: expected ${code}, got ${threw.code} (${threw.message})`);
  if (typeof threw.field !== 'string' || threw.field.length === 0) throw new ConformanceFailure(`${what}: the error must name the offending field`);
}

function good() {
  const config = resolveConfig(CFG);
  return { config, weights: initWeights(config, 1), x: randomTensor([1, 3, 4], 2) };
}

const PROBED = ['cross-attention', 'grouped-query', 'value-head-dim', 'softcap'] as const;

type ErrorCase = [name: string, code: Code, action: (b: MhaBackend) => Promise<unknown>];

/** errors: the validation catalogue gives the same code on every backend (SPEC.md, "Errors"). */
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
  const table: ErrorCase[] = [
    ['heads-not-dividing-dOut', MhaErrorCode.HeadsNotDivisible, (b) => create(b, { dIn: 4, dOut: 6, heads: 4 })],
    ['fractional-heads', MhaErrorCode.InvalidConfig, (b) => create(b, { dIn: 4, heads: 2.5, headDim: 2 })],
    ['zero-dIn', MhaErrorCode.InvalidConfig, (b) => create(b, { dIn: 0, heads: 2, headDim: 2 })],
    ['negative-headDim', MhaErrorCode.InvalidConfig, (b) => create(b, { dIn: 4, heads: 2, headDim: -2 })],
    ['NaN-heads', MhaErrorCode.InvalidConfig, (b) => create(b, { dIn: 4, heads: Number.NaN, headDim: 2 })],
    ['string-dIn', MhaErrorCode.InvalidConfig, (b) => create(b, { dIn: '4', heads: 2, headDim: 2 })],
    ['too-large-to-allocate', MhaErrorCode.InvalidConfig, (b) => create(b, { dIn: 1_000_000, heads: 1000, headDim: 1000 })],
    ['non-finite-scale', MhaErrorCode.InvalidConfig, (b) => create(b, { ...CFG, scale: Number.POSITIVE_INFINITY })],
    ['unknown-config-field', MhaErrorCode.InvalidConfig, (b) => create(b, { ...CFG, num_heads: 2 })],
    ['weight-wrong-length', MhaErrorCode.WeightShape, (b) => create(b, CFG, { ...good().weights, wq: new Float32Array(7) })],
    ['weight-missing-bias', MhaErrorCode.WeightShape, (b) => create(b, BIAS_CFG, good().weights)],
    ['weight-unexpected-bias', MhaErrorCode.WeightShape, (b) => create(b, CFG, { ...good().weights, bq: new Float32Array(4) })],
    ['weight-missing-out-proj', MhaErrorCode.WeightShape, (b) => create(b, CFG, { ...good().weights, wo: undefined })],
    ['weight-float64', MhaErrorCode.InvalidType, (b) => create(b, CFG, { ...good().weights, wk: new Float64Array(16) })],
    ['x-length-mismatch', MhaErrorCode.ShapeMismatch, (b) => forward(b, { data: new Float32Array(11), shape: [1, 3, 4] })],
    ['x-dIn-mismatch', MhaErrorCode.DimMismatch, (b) => forward(b, randomTensor([1, 3, 5], 3))],
    ['x-rank-2', MhaErrorCode.InvalidShape, (b) => forward(b, randomTensor([3, 4], 3))],
    ['x-negative-dim', MhaErrorCode.InvalidShape, (b) => forward(b, { data: new Float32Array(0), shape: [1, -3, 4] })],
    ['x-fractional-dim', MhaErrorCode.InvalidShape, (b) => forward(b, { data: new Float32Array(6), shape: [1, 1.5, 4] })],
    ['x-float64', MhaErrorCode.InvalidType, (b) => forward(b, { data: new Float64Array(12), shape: [1, 3, 4] })],
    ['x-plain-array', MhaErrorCode.InvalidType, (b) => forward(b, { data: new Array(12).fill(0), shape: [1, 3, 4] })],
    ['x-not-a-tensor', MhaErrorCode.InvalidType, (b) => forward(b, new Float32Array(12))],
    ['x-NaN', MhaErrorCode.NonFinite, (b) => forward(b, { data: Float32Array.from({ length: 12 }, (_, i) => (i === 5 ? Number.NaN : 0)), shape: [1, 3, 4] })],
    ['x-Infinity', MhaErrorCode.NonFinite, (b) => forward(b, { data: Float32Array.from({ length: 12 }, (_, i) => (i === 0 ? -Infinity : 0)), shape: [1, 3, 4] })],
    ['weight-NaN', MhaErrorCode.NonFinite, (b) => create(b, CFG, { ...good().weights, wv: new Float32Array(16).fill(Number.NaN) })],
    [
      'weights-too-large-to-return',
      MhaErrorCode.InvalidShape,
      // x is small (50,000 floats) but [1, 1, 50000, 50000] weights would be 2.5e9 elements: refuse before allocating.
      (b) => b.createModule({ dIn: 1, heads: 1, headDim: 1 }, { wq: new Float32Array(1), wk: new Float32Array(1), wv: new Float32Array(1), wo: new Float32Array(1), bo: new Float32Array(1) }).then(async (m) => {
        try {
          return await m.forward({ data: new Float32Array(50_000), shape: [1, 50_000, 1] }, { returnAttentionWeights: true });
        } finally {
          await m.dispose();
        }
      }),
    ],
    ['core-op-NaN-key', MhaErrorCode.NonFinite, (b) => b.attention(randomTensor([1, 1, 2, 4], 1), { data: new Float32Array(8).fill(Number.NaN), shape: [1, 1, 2, 4] }, randomTensor([1, 1, 2, 4], 3))],
    ['option-wrong-type', MhaErrorCode.InvalidType, (b) => forward(b, good().x, { returnAttentionWeights: 'yes' })],
    ['option-unknown', MhaErrorCode.InvalidOption, (b) => forward(b, good().x, { returnWeights: true })],
    [
      'forward-after-dispose',
      MhaErrorCode.Disposed,
      async (b) => {
        const { config, weights, x } = good();
        const m = await b.createModule(config, weights);
        await m.dispose();
        return m.forward(x);
      },
    ],
    ['core-op-head-size-mismatch', MhaErrorCode.DimMismatch, (b) => b.attention(randomTensor([1, 2, 3, 4], 1), randomTensor([1, 2, 3, 5], 2), randomTensor([1, 2, 3, 4], 3))],
    ['core-op-batch-mismatch', MhaErrorCode.DimMismatch, (b) => b.attention(randomTensor([2, 2, 3, 4], 1), randomTensor([1, 2, 3, 4], 2), randomTensor([1, 2, 3, 4], 3))],
    ['core-op-rank-3', MhaErrorCode.InvalidShape, (b) => b.attention(randomTensor([2, 3, 4], 1), randomTensor([2, 3, 4], 2), randomTensor([2, 3, 4], 3))],
    ['core-op-kv-heads-not-dividing', MhaErrorCode.DimMismatch, (b) => b.attention(randomTensor([1, 3, 2, 4], 1), randomTensor([1, 2, 2, 4], 2), randomTensor([1, 2, 2, 4], 3))],
    ['core-op-NaN-scale', MhaErrorCode.InvalidOption, (b) => b.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3), { scale: Number.NaN })],
  ];
  const cases: ConformanceCase[] = table.map(([name, code, action]) => ({
    id: `errors/${name}`,
    group: 'errors' as const,
    spec: SPEC,
    title: `${name.replace(/-/g, ' ')} -> ${code}`,
    run: ({ backend }) => expectCode(code, name, () => action(backend)),
  }));
  cases.push({
    id: 'errors/unsupported-capability-is-refused',
    group: 'errors',
    spec: 'SPEC.md#capabilities',
    title: 'a core-op call needing an undeclared capability raises MHA_UNSUPPORTED instead of computing something',
    skipFor: (backend) => (PROBED.every((c) => backend.capabilities.includes(c)) ? `backend declares every probed capability (${PROBED.join(', ')}); nothing to refuse` : undefined),
    async run({ backend }) {
      const probes = [
        ['cross-attention', () => backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 3, 4], 2), randomTensor([1, 1, 3, 4], 3))],
        ['grouped-query', () => backend.attention(randomTensor([1, 2, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3))],
        ['value-head-dim', () => backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 3], 3))],
        ['softcap', () => backend.attention(randomTensor([1, 1, 2, 4], 1), randomTensor([1, 1, 2, 4], 2), randomTensor([1, 1, 2, 4], 3), { softcap: 2 })],
      ] as const;
      for (const [cap, call] of probes) {
        if (backend.capabilities.includes(cap)) continue;
        await expectCode(MhaErrorCode.Unsupported, `undeclared ${cap}`, call);
      }
    },
  });
  return cases;
}
