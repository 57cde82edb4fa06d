import { expectedTrace, formatShape, randomTensor, TRACE_STEPS } from '@mha/core';
import { check, type ConformanceCase } from '../case.js';
import { caseParams, materialise, MODULE_GRID, withModule } from '../util.js';

const SPEC = 'SPEC.md#shapes';

function sameShape(actual: readonly number[] | undefined, expected: readonly number[], what: string): void {
  check(
    actual !== undefined && actual.length === expected.length && actual.every((d, i) => d === expected[i]),
    `${what}: shape ${actual ? formatShape(actual) : 'missing'} != expected ${formatShape(expected)}`,
  );
}

/** shapes: output / attention-weight / trace shapes over the module grid, the empty-input policy, and core-op shapes. */
export function shapeCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = MODULE_GRID.map((c, i) => ({
    id: `shapes/module/${c.name}/${caseParams(c)}`,
    group: 'shapes' as const,
    spec: SPEC,
    title: `output, weights and trace shapes for ${c.name}`,
    async run({ backend }) {
      const { config, weights, x } = materialise(c, 100 + i);
      await withModule(backend, config, weights, async (m) => {
        const plain = await m.forward(x);
        sameShape(plain.output.shape, [c.batch, c.tokens, config.dOut], 'output');
        check(plain.output.data instanceof Float32Array, 'output.data must be a Float32Array');
        check(plain.attentionWeights === undefined, 'attention weights returned without being requested');
        check(plain.trace === undefined, 'trace returned without being requested');
        const full = await m.forward(x, { returnAttentionWeights: true, trace: true });
        sameShape(full.attentionWeights?.shape, [c.batch, config.heads, c.tokens, c.tokens], 'attentionWeights');
        const want = expectedTrace(config, c.batch, c.tokens);
        const got = full.trace ?? [];
        check(got.length === TRACE_STEPS.length, `trace has ${got.length} steps, expected ${TRACE_STEPS.length} (${TRACE_STEPS.join(', ')})`);
        want.forEach((w, s) => {
          check(got[s]?.step === w.step, `trace step ${s} is '${got[s]?.step}', expected '${w.step}'`);
          sameShape(got[s]?.shape, w.shape, `trace '${w.step}'`);
        });
        for (const v of full.output.data) check(Number.isFinite(v), 'output has a non-finite value');
      });
    },
  }));

  for (const [name, batch, tokens] of [
    ['batch-0', 0, 4],
    ['tokens-0', 2, 0],
  ] as const) {
    cases.push({
      id: `shapes/empty/${name}/B=${batch},T=${tokens}`,
      group: 'shapes',
      spec: 'SPEC.md#empty-inputs',
      title: `empty input (${name}) gives empty outputs of the right shapes`,
      async run({ backend }) {
        const { config, weights } = materialise(MODULE_GRID[1]!, 7);
        await withModule(backend, config, weights, async (m) => {
          const r = await m.forward(randomTensor([batch, tokens, config.dIn], 1), { returnAttentionWeights: true, trace: true });
          sameShape(r.output.shape, [batch, tokens, config.dOut], 'output');
          check(r.output.data.length === 0, 'output of an empty input must be empty');
          sameShape(r.attentionWeights?.shape, [batch, config.heads, tokens, tokens], 'attentionWeights');
          check(r.trace?.length === TRACE_STEPS.length, 'trace must list every step even for an empty input');
        });
      },
    });
  }

  const core: { name: string; q: number[]; k: number[]; v: number[]; needs: ('cross-attention' | 'grouped-query' | 'value-head-dim')[] }[] = [
    { name: 'self', q: [2, 3, 5, 4], k: [2, 3, 5, 4], v: [2, 3, 5, 4], needs: [] },
    { name: 'single-query', q: [1, 2, 1, 8], k: [1, 2, 1, 8], v: [1, 2, 1, 8], needs: [] },
    { name: 'cross', q: [2, 2, 3, 4], k: [2, 2, 7, 4], v: [2, 2, 7, 4], needs: ['cross-attention'] },
    { name: 'gqa', q: [1, 6, 4, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 4], needs: ['grouped-query'] },
    { name: 'value-dim', q: [1, 2, 4, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 6], needs: ['value-head-dim'] },
  ];
  core.forEach((c, i) => {
    cases.push({
      id: `shapes/core-op/${c.name}/q=${formatShape(c.q)},k=${formatShape(c.k)},v=${formatShape(c.v)}`,
      group: 'shapes',
      spec: 'SPEC.md#core-op',
      title: `core op output and weight shapes (${c.name})`,
      needs: c.needs,
      async run({ backend }) {
        const r = await backend.attention(randomTensor(c.q, 200 + i), randomTensor(c.k, 300 + i), randomTensor(c.v, 400 + i), { returnWeights: true });
        sameShape(r.output.shape, [c.q[0]!, c.q[1]!, c.q[2]!, c.v[3]!], 'output');
        sameShape(r.weights?.shape, [c.q[0]!, c.q[1]!, c.q[2]!, c.k[2]!], 'weights');
        const plain = await backend.attention(randomTensor(c.q, 200 + i), randomTensor(c.k, 300 + i), randomTensor(c.v, 400 + i));
        check(plain.weights === undefined, 'weights returned without being requested');
      },
    });
  });
  return cases;
}
