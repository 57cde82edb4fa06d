import fc from 'fast-check';
import { initWeights, type Capability, MhaErrorCode, randomTensor, referenceForward, resolveConfig, type AttentionMask, type ForwardOptions, type MhaConfig, type Tensor } from '@mha/core';
import { check, ConformanceFailure, expectClose, type CaseContext, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import type { ModuleFeatureFixture } from '../module-fixtures.js';
import { withModule } from '../util.js';
import { maxAbs, scaled } from './both-paths.js';
import { expectError } from './errors.js';
import { propertySeed } from './properties.js';
import { moduleDecodeFixtureCases } from './module-kv-cache.js';

const SPEC = 'SPEC.md#module-features';

/** `expected` with torch's NaN (undefined: a fully masked row) replaced by the float64 reference's value. */
function definedOrReference(torch: Tensor, reference: ArrayLike<number>): { data: Float32Array; shape: readonly number[]; nan: number } {
  const data = new Float32Array(torch.data.length);
  let nan = 0;
  for (let i = 0; i < data.length; i++) {
    const t = torch.data[i]!;
    if (Number.isNaN(t)) nan++;
    data[i] = Number.isNaN(t) ? reference[i]! : t;
  }
  return { data, shape: torch.shape, nan };
}

async function checkAgainst(ctx: CaseContext, f: { config: MhaConfig; weights: Parameters<typeof referenceForward>[1]; x: Tensor; options: ForwardOptions }, torch?: { output: Tensor; weights?: Tensor | undefined }): Promise<void> {
  const ref = referenceForward(f.config, f.weights, f.x, f.options);
  const refW = f.options.averageWeights ? ref.averagedWeights : ref.attentionWeights;
  const outTol = scaled(ctx.tolerance, maxAbs(ref.output.data));
  await withModule(ctx.backend, f.config, f.weights, async (m) => {
    const withW = await m.forward(f.x, { ...f.options, returnWeights: true });
    const without = await m.forward(f.x, { ...f.options, trace: true });
    check(withW.weights !== undefined && withW.attentionWeights === withW.weights, 'forward with returnWeights must return `weights` (and the deprecated alias `attentionWeights`, the same tensor)');
    check(without.weights === undefined, 'weights returned without returnWeights');
    expectClose(ctx, 'output vs float64 reference', compare(withW.output, ref.output, outTol));
    expectClose(ctx, 'output without weights vs float64 reference', compare(without.output, ref.output, outTol));
    expectClose(ctx, 'weights vs float64 reference', compare(withW.weights, refW, ctx.tolerance));
    const trace = without.trace?.map((e) => `${e.step}:${e.shape.join('x')}`).join(' ');
    const want = ref.trace.map((e) => `${e.step}:${e.shape.join('x')}`).join(' ');
    check(trace === want, `trace ${String(trace)} != ${want}`);
    if (torch) {
      const out = definedOrReference(torch.output, ref.output.data);
      expectClose(ctx, `output vs torch${out.nan ? ` (${out.nan} NaN of torch's checked against the reference)` : ''}`, compare(withW.output, out, scaled(ctx.tolerance, maxAbs(out.data))));
      if (torch.weights) expectClose(ctx, 'weights vs torch', compare(withW.weights, definedOrReference(torch.weights, refW.data), ctx.tolerance));
    }
  });
}

/**
 * The core-op capabilities a module call is lowered onto (SPEC.md, "Module features"): a backend without
 * them gets a declared skip, never a failure.
 */
export function moduleNeeds(config: MhaConfig, x: Tensor, options: ForwardOptions): Capability[] {
  const cfg = resolveConfig(config);
  const tq = x.shape[1]!;
  const tk = options.key ? options.key.shape[1]! : tq;
  const need: Capability[] = [];
  if (tq !== tk) need.push('cross-attention');
  if (cfg.kvHeads !== cfg.heads) need.push('grouped-query');
  if (options.mask || options.keyPaddingMask || (cfg.causal && options.causalAlign === 'bottom-right' && tq !== tk)) need.push('attn-mask');
  return need;
}

function bools(n: number, seed: number, pTrue: number): Uint8Array {
  let s = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 < pTrue ? 1 : 0;
  }
  return out;
}

interface RefCase {
  readonly name: string;
  readonly config: MhaConfig;
  readonly batch: number;
  readonly tq: number;
  readonly tk?: number;
  readonly mask?: 'bool-4d' | 'additive-2d' | undefined;
  readonly kpm?: boolean;
  readonly align?: 'top-left' | 'bottom-right';
  readonly average?: boolean;
}

const PROPERTY_RUNS = 12;

/** Random module-feature calls for the property (sizes small: every run builds a module). */
const moduleSampleArb = fc
  .record({
    kvHeads: fc.integer({ min: 1, max: 3 }),
    group: fc.integer({ min: 1, max: 3 }),
    headDim: fc.integer({ min: 1, max: 4 }),
    dIn: fc.integer({ min: 1, max: 8 }),
    kdim: fc.integer({ min: 1, max: 8 }),
    vdim: fc.integer({ min: 1, max: 8 }),
    cross: fc.boolean(),
    causal: fc.boolean(),
    qkvBias: fc.boolean(),
    outProj: fc.boolean(),
    outProjBias: fc.boolean(),
    batch: fc.integer({ min: 1, max: 2 }),
    tq: fc.integer({ min: 1, max: 6 }),
    tk: fc.integer({ min: 0, max: 6 }),
    mask: fc.constantFrom(undefined, 'bool-4d' as const, 'additive-2d' as const),
    kpm: fc.boolean(),
    align: fc.constantFrom('top-left' as const, 'bottom-right' as const),
    average: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
  })
  .map((r): RefCase & { seed: number } => ({
    name: 'property',
    config: {
      dIn: r.dIn,
      heads: r.kvHeads * r.group,
      headDim: r.headDim,
      kvHeads: r.kvHeads,
      causal: r.causal,
      qkvBias: r.qkvBias,
      outProj: r.outProj,
      outProjBias: r.outProj && r.outProjBias,
      ...(r.cross ? { kdim: r.kdim, vdim: r.vdim } : {}),
    },
    batch: r.batch,
    tq: r.tq,
    ...(r.cross ? { tk: r.tk } : {}),
    mask: r.mask,
    kpm: r.kpm,
    align: r.align,
    average: r.average,
    seed: r.seed,
  }));

/** Random modules exercising every feature together (vs the float64 reference, every backend). */
const REF_CASES: readonly RefCase[] = [
  { name: 'gqa-cross-kdim-vdim-kpm', config: { dIn: 6, heads: 4, headDim: 3, kvHeads: 2, kdim: 5, vdim: 7, qkvBias: true }, batch: 2, tq: 3, tk: 7, kpm: true },
  { name: 'mqa-causal-bottom-right-mask4d', config: { dIn: 8, heads: 4, headDim: 2, kvHeads: 1, causal: true }, batch: 2, tq: 4, tk: 9, mask: 'bool-4d', align: 'bottom-right' },
  { name: 'cross-causal-top-left-additive-averaged', config: { dIn: 5, heads: 3, headDim: 2, causal: true, kdim: 4, vdim: 4, outProjBias: false }, batch: 3, tq: 5, tk: 3, mask: 'additive-2d', align: 'top-left', average: true },
  { name: 'self-causal-bottom-right-tq-gt-tk', config: { dIn: 4, heads: 2, headDim: 2, causal: true, kdim: 3, vdim: 3 }, batch: 1, tq: 6, tk: 4, align: 'bottom-right' },
  { name: 'self-no-out-proj-kpm', config: { dIn: 6, heads: 2, headDim: 3, outProj: false, qkvBias: true }, batch: 3, tq: 5, kpm: true },
];

function refInputs(c: RefCase, seed: number): { config: MhaConfig; weights: ReturnType<typeof initWeights>; x: Tensor; options: ForwardOptions } {
  const cfg = resolveConfig(c.config);
  const tk = c.tk ?? c.tq;
  const cross = c.tk !== undefined || cfg.kdim !== cfg.dIn;
  const options: ForwardOptions = {};
  if (cross) {
    options.key = randomTensor([c.batch, tk, cfg.kdim], seed + 1);
    options.value = randomTensor([c.batch, tk, cfg.vdim], seed + 2);
  }
  if (c.kpm) {
    const data = bools(c.batch * tk, seed + 3, 0.7);
    if (tk > 0) for (let b = 0; b < c.batch; b++) data[b * tk] = 1;
    options.keyPaddingMask = { kind: 'bool', data, shape: [c.batch, tk] };
  }
  if (c.mask === 'bool-4d') options.mask = { kind: 'bool', data: bools(c.batch * cfg.heads * c.tq * tk, seed + 4, 0.6), shape: [c.batch, cfg.heads, c.tq, tk] };
  if (c.mask === 'additive-2d') {
    const r = randomTensor([c.tq, tk], seed + 5);
    const data = Float32Array.from(r.data, (v, i) => (i % 5 === 3 ? -Infinity : v));
    options.mask = { kind: 'additive', data, shape: [c.tq, tk] } satisfies AttentionMask;
  }
  if (c.align) options.causalAlign = c.align;
  if (c.average) options.averageWeights = true;
  return { config: cfg, weights: initWeights(cfg, seed), x: randomTensor([c.batch, c.tq, cfg.dIn], seed + 6), options };
}

/** Module features: torch fixtures (cross-attention, kdim/vdim, masks, causal alignment, averaged weights, GQA) and reference cases. */
export function moduleFeatureCases(fixtures: readonly ModuleFeatureFixture[]): ConformanceCase[] {
  const cases: ConformanceCase[] = fixtures.filter((f) => !f.decode).map((f) => ({
    id: `numeric/module-features/golden/${f.id}`,
    group: 'numeric' as const,
    spec: SPEC,
    title: `${f.description} (oracle: ${f.oracle}, and the float64 reference)`,
    needs: moduleNeeds(f.config, f.x, f.options),
    run: (ctx) => checkAgainst(ctx, f, f.expected),
  }));
  cases.push(...moduleDecodeFixtureCases(fixtures));
  REF_CASES.forEach((c, i) => {
    const inputs = refInputs(c, 9100 + 17 * i);
    cases.push({
      id: `numeric/module-features/reference/${c.name}`,
      group: 'numeric',
      spec: SPEC,
      needs: moduleNeeds(inputs.config, inputs.x, inputs.options),
      title: `${c.name}: every module feature vs the float64 reference (with and without weights, trace)`,
      run: (ctx) => checkAgainst(ctx, inputs),
    });
  });
  cases.push({
    id: 'causal-mask/module-alignment',
    group: 'causal-mask',
    spec: 'SPEC.md#causal-mask',
    needs: ['cross-attention', 'attn-mask'],
    title: 'causalAlign: weights are exactly 0 for j > i (top-left) and j > i + Tk - Tq (bottom-right); default is top-left',
    async run({ backend }) {
      const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, causal: true });
      const x = randomTensor([1, 3, 4], 71);
      const kv = randomTensor([1, 5, 4], 72);
      await withModule(backend, cfg, initWeights(cfg, 70), async (m) => {
        for (const align of [undefined, 'top-left', 'bottom-right'] as const) {
          const r = await m.forward(x, { key: kv, value: kv, causalAlign: align, returnWeights: true });
          const off = align === 'bottom-right' ? 2 : 0;
          for (let h = 0; h < 2; h++) {
            for (let i = 0; i < 3; i++) {
              for (let j = 0; j < 5; j++) {
                const w = r.weights!.data[(h * 3 + i) * 5 + j]!;
                if (j > i + off) check(w === 0, `${align ?? 'default'}: weight [0,${h},${i},${j}] = ${w}, expected exactly 0`);
                else check(w > 0, `${align ?? 'default'}: weight [0,${h},${i},${j}] = ${w}, key must be visible`);
              }
            }
          }
        }
      });
    },
  });
  cases.push({
    id: 'lifecycle/module-features-inputs-read-during-call',
    group: 'lifecycle',
    spec: 'SPEC.md#lifecycle',
    needs: ['cross-attention', 'grouped-query', 'attn-mask'],
    title: 'x, key, value and both masks are read during the call: refilling them right after forward() returns changes nothing',
    async run(ctx) {
      const f = refInputs(REF_CASES[0]!, 9300);
      const mask: AttentionMask = { kind: 'additive', data: new Float32Array(3 * 7).fill(0.25), shape: [3, 7] };
      const options: ForwardOptions = { ...f.options, mask };
      const ref = referenceForward(f.config, f.weights, f.x, options);
      const copy = (t: Tensor): Tensor => ({ data: Float32Array.from(t.data), shape: t.shape });
      const x = copy(f.x);
      const key = copy(options.key!);
      const value = copy(options.value!);
      const kpm = { ...options.keyPaddingMask!, data: Uint8Array.from(options.keyPaddingMask!.data) };
      const m2 = { ...mask, data: Float32Array.from(mask.data) };
      await withModule(ctx.backend, f.config, f.weights, async (m) => {
        const pending = m.forward(x, { ...options, key, value, keyPaddingMask: kpm, mask: m2, returnWeights: true });
        (x.data as Float32Array).fill(7);
        (key.data as Float32Array).fill(-3);
        (value.data as Float32Array).fill(5);
        kpm.data.fill(0);
        m2.data.fill(-Infinity);
        const r = await pending;
        expectClose(ctx, 'output', compare(r.output, ref.output, scaled(ctx.tolerance, maxAbs(ref.output.data))));
      });
    },
  });
  cases.push({
    id: `properties/module-features-match-reference/runs=${PROPERTY_RUNS}`,
    group: 'properties',
    spec: SPEC,
    needs: ['cross-attention', 'grouped-query', 'attn-mask'],
    title: 'random modules with GQA/MQA, cross-attention (kdim/vdim, Tk from 0), masks of each kind, causal alignments and averaged weights match the float64 reference on every path',
    async run(ctx) {
      const seed = propertySeed();
      try {
        await fc.assert(fc.asyncProperty(moduleSampleArb, (c) => checkAgainst(ctx, refInputs(c, c.seed))), { seed, numRuns: PROPERTY_RUNS, endOnFailure: true });
      } catch (e) {
        throw new ConformanceFailure(`module-features-match-reference failed (replay with MHA_PROPERTY_SEED=${seed}): ${(e as Error).message.split('\n').slice(0, 8).join('\n')}`);
      }
    },
  });
  const errorCase = (name: string, cfg: MhaConfig, x: Tensor, options: unknown, code: MhaErrorCode, field: string, value: unknown): ConformanceCase => ({
    id: `errors/module-features/${name}`,
    group: 'errors',
    spec: SPEC,
    title: `${name}: ${code} at ${field}`,
    async run({ backend }) {
      await withModule(backend, cfg, initWeights(resolveConfig(cfg), 1), (m) => expectError({ code, field, value }, name, backend, () => m.forward(x, options as ForwardOptions)));
    },
  });
  const c4: MhaConfig = { dIn: 4, heads: 2, headDim: 2 };
  const x4 = randomTensor([2, 3, 4], 5);
  cases.push(
    errorCase('key-without-value', c4, x4, { key: randomTensor([2, 5, 4], 6) }, MhaErrorCode.InvalidOption, 'options.value', undefined),
    errorCase('key-width', c4, x4, { key: randomTensor([2, 5, 3], 6), value: randomTensor([2, 5, 4], 7) }, MhaErrorCode.DimMismatch, 'options.key.shape[2]', 3),
    errorCase('kdim-needs-key', { ...c4, kdim: 3 }, x4, {}, MhaErrorCode.InvalidOption, 'options.key', undefined),
    errorCase('causal-align', c4, x4, { causalAlign: 'bottom' }, MhaErrorCode.InvalidOption, 'options.causalAlign', 'bottom'),
    errorCase('key-padding-shape', c4, x4, { keyPaddingMask: { kind: 'bool', data: new Uint8Array(4), shape: [2, 2] } }, MhaErrorCode.DimMismatch, 'options.keyPaddingMask.shape[1]', 2),
    errorCase('mask-key-axis-short', c4, x4, { mask: { kind: 'bool', data: new Uint8Array(6), shape: [3, 2] } }, MhaErrorCode.DimMismatch, 'options.mask.shape[1]', 2),
    errorCase('weights-alias-contradiction', c4, x4, { returnWeights: true, returnAttentionWeights: false }, MhaErrorCode.InvalidOption, 'options.returnAttentionWeights', false),
  );
  return cases;
}
