import type { ConformanceCase } from '../case.js';
import { caseParams, materialise, withModule, type ModuleCase } from '../util.js';
import { moduleVsReference } from './both-paths.js';
import { coreOpCases, type CoreOpCase } from './core-op-features.js';

const SPEC = 'SPEC.md#numeric-tolerance';

/**
 * Module sizes that cross kernel boundaries: sequence lengths past 256 and 1024, reduction lengths
 * (dIn, headDim, T) that are no multiple of 4/8/16/64, 16 heads. Generated from seeds and compared with
 * the float64 reference (torch files of these sizes would be megabytes). Widths stay small where T is
 * large so the pure-JS rows stay quick.
 */
export const SIZE_MODULE_CASES: readonly (ModuleCase & { withWeights: boolean })[] = [
  { name: 'T300-h16-din100-dh7', batch: 1, tokens: 300, config: { dIn: 100, heads: 16, headDim: 7, causal: true, qkvBias: true }, withWeights: true },
  { name: 'T257-din131-dh97', batch: 1, tokens: 257, config: { dIn: 131, heads: 3, headDim: 97, outProjBias: false }, withWeights: true },
  { name: 'T131-scale', batch: 2, tokens: 131, config: { dIn: 7, heads: 4, headDim: 1, causal: true, scale: 0.37 }, withWeights: true },
  { name: 'T1024-no-weights', batch: 1, tokens: 1024, config: { dIn: 5, heads: 2, headDim: 3, causal: true, qkvBias: true }, withWeights: false },
];

/** Core-op sizes that cross kernel boundaries (Tk 1, 7, 97, 131, 257, 300, 1024; dk 7, 97, 131; 16 heads). */
export const SIZE_CORE_OP_CASES: readonly CoreOpCase[] = [
  { name: 'tk1', title: 'one key (Tk = 1): every weight is 1', q: [2, 3, 6, 7], k: [2, 3, 1, 7], v: [2, 3, 1, 7], options: {} },
  { name: 'dk97-tk7', title: 'head size 97 over 7 keys, causal', q: [1, 2, 9, 97], k: [1, 2, 7, 97], v: [1, 2, 7, 97], options: { causal: true } },
  { name: 'dk131-t100', title: 'head size 131, T = 100, causal, scale 0.05', q: [1, 1, 100, 131], k: [1, 1, 100, 131], v: [1, 1, 100, 131], options: { causal: true, scale: 0.05 } },
  { name: 'tk131', title: '131 keys for 5 queries', q: [1, 2, 5, 16], k: [1, 2, 131, 16], v: [1, 2, 131, 16], options: {} },
  { name: 't300-h16', title: 'T = 300 with 16 heads, causal', q: [1, 16, 300, 8], k: [1, 16, 300, 8], v: [1, 16, 300, 8], options: { causal: true } },
  { name: 't257-dv100', title: 'T = 257 with value head size 100', q: [1, 2, 257, 7], k: [1, 2, 257, 7], v: [1, 2, 257, 100], options: {} },
  { name: 'gqa-t300', title: 'T = 300, 16 query heads over 4 KV heads, causal', q: [1, 16, 300, 7], k: [1, 4, 300, 7], v: [1, 4, 300, 7], options: { causal: true } },
  { name: 't1024', title: 'T = 1024, causal', q: [1, 2, 1024, 4], k: [1, 2, 1024, 4], v: [1, 2, 1024, 4], options: { causal: true } },
];

/** numeric: sizes that cross kernel boundaries, every code path against the float64 reference. */
export function sizeCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = SIZE_MODULE_CASES.map((c, i) => {
    const seed = 1400 + i * 7;
    return {
      id: `numeric/sizes/module/${c.name}/${caseParams(c)},seed=${seed}`,
      group: 'numeric' as const,
      spec: SPEC,
      title: `${c.name}: forward without weights, with trace only${c.withWeights ? ' and with weights' : ''} vs the float64 reference`,
      async run(ctx) {
        const { config, weights, x } = materialise(c, seed);
        await withModule(ctx.backend, config, weights, (m) => moduleVsReference(ctx, m, weights, x, { plain: true, trace: true, weights: c.withWeights }));
      },
    };
  });
  return [...cases, ...coreOpCases('numeric', 'numeric/sizes/core-op', SPEC, SIZE_CORE_OP_CASES, 1500)];
}
