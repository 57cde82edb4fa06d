import { initWeights, randomTensor, resolveConfig, type ResolvedMhaConfig, type Tensor } from '@mha/core';
import { check, expectClose, type ConformanceCase } from '../case.js';
import { compare } from '../compare.js';
import { withModule } from '../util.js';
import { inputCases } from './lifecycle-inputs.js';

const SPEC = 'SPEC.md#lifecycle';

/** lifecycle: concurrent calls, independent modules, dispose semantics, buffer hygiene, leak counters. */
export function lifecycleCases(): ConformanceCase[] {
  const config = resolveConfig({ dIn: 8, heads: 2, headDim: 4, causal: true, qkvBias: true });
  return [...baseCases(config), ...inputCases()];
}

function baseCases(config: ResolvedMhaConfig): ConformanceCase[] {
  return [
    {
      id: 'lifecycle/concurrent-forwards/calls=100',
      group: 'lifecycle',
      spec: SPEC,
      title: '100 concurrent forward calls on one module return exactly what sequential calls return',
      async run(ctx) {
        const inputs = Array.from({ length: 100 }, (_, i) => randomTensor([1 + (i % 3), 2 + (i % 5), 8], 1000 + i));
        await withModule(ctx.backend, config, initWeights(config, 5), async (m) => {
          const sequential: Tensor[] = [];
          for (const x of inputs) sequential.push((await m.forward(x)).output);
          const concurrent = await Promise.all(inputs.map((x) => m.forward(x)));
          concurrent.forEach((r, i) => {
            const c = compare(r.output, sequential[i]!, { atol: 0, rtol: 0 });
            check(c.ok, `call ${i}: concurrent result differs from the sequential one (${c.message ?? ''})`);
          });
        });
      },
    },
    {
      id: 'lifecycle/independent-modules',
      group: 'lifecycle',
      spec: SPEC,
      title: 'two live modules of one backend keep their own weights; disposing one leaves the other working',
      async run(ctx) {
        const x = randomTensor([2, 5, 8], 7);
        const a = await ctx.backend.createModule(config, initWeights(config, 1));
        const b = await ctx.backend.createModule(config, initWeights(config, 2));
        try {
          const ya = (await a.forward(x)).output;
          const yb = (await b.forward(x)).output;
          check(!compare(ya, yb, ctx.tolerance).ok, 'modules with different weights gave the same output');
          await a.dispose();
          expectClose(ctx, 'second module after the first was disposed', compare((await b.forward(x)).output, yb, { atol: 0, rtol: 0 }));
        } finally {
          await a.dispose();
          await b.dispose();
        }
      },
    },
    {
      id: 'lifecycle/dispose-idempotent',
      group: 'lifecycle',
      spec: SPEC,
      title: 'dispose() twice is harmless and marks the module disposed',
      async run({ backend }) {
        const m = await backend.createModule(config, initWeights(config, 3));
        await m.forward(randomTensor([1, 3, 8], 1));
        await m.dispose();
        await m.dispose();
        check(m.disposed, 'module.disposed must be true after dispose()');
      },
    },
    {
      id: 'lifecycle/caller-buffers-untouched',
      group: 'lifecycle',
      spec: SPEC,
      title: "forward never modifies the caller's input, and later changes to the caller's weights do not leak into a built module",
      async run(ctx) {
        const x = randomTensor([2, 4, 8], 9);
        const before = x.data.slice();
        const w = initWeights(config, 4);
        await withModule(ctx.backend, config, w, async (m) => {
          const y1 = (await m.forward(x)).output;
          check(x.data.every((v, i) => v === before[i]), 'forward modified the input buffer');
          w.wq.fill(0);
          expectClose(ctx, 'output after the caller zeroed its weight array', compare((await m.forward(x)).output, y1, { atol: 0, rtol: 0 }));
        });
      },
    },
  ];
}
