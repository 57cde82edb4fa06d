// Test the tester: each lifecycle bug (inputs read late, results cached or aliased, inputs mutated,
// scratch shared across modules, leaked counters, a backend broken by dispose) is caught by the case
// written for it, and a correct asynchronous backend passes the whole lifecycle group.
import { describe, expect, it } from 'vitest';
import { lifecycleBuggyBackend, type LifecycleBug } from './buggy/lifecycle.js';
import { runSuite } from './suite.js';

async function failingIds(bug: LifecycleBug): Promise<string[]> {
  const report = await runSuite(lifecycleBuggyBackend(bug), { fixtures: [], groups: ['lifecycle'] });
  return report.results.filter((r) => r.status === 'fail').map((r) => r.id);
}

describe('the lifecycle group catches backends that mishandle inputs, results or resources', () => {
  it('a correct asynchronous backend (core hands it private copies) passes every lifecycle case', async () => {
    expect(await failingIds('none')).toEqual([]);
  });
  it.each([
    ['lazy-reader', ['lifecycle/refilled-buffer/concurrent/forward/B=2,T=5,dIn=8', 'lifecycle/overwritten-after-call/forward/B=2,T=5,dIn=8', 'lifecycle/overwritten-after-call/core-op/B=1,H=2,T=5,d=4']],
    ['cache-by-buffer', ['lifecycle/refilled-buffer/sequential/forward/B=2,T=5,dIn=8', 'lifecycle/refilled-buffer/sequential/core-op/B=1,H=2,T=5,d=4']],
    ['reused-weights', ['lifecycle/result-not-aliased/forward/B=2,T=5,dIn=8', 'lifecycle/result-not-aliased/core-op/B=1,H=2,T=5,d=4']],
    ['mutates-q', ['lifecycle/core-op-inputs-untouched', 'lifecycle/core-op-inputs-untouched/mask']],
    ['shared-scratch', ['lifecycle/concurrent-modules/modules=3']],
    ['lazy-large', ['lifecycle/overwritten-after-call/forward/B=2,T=128,dIn=64', 'lifecycle/large-input-vs-reference/B=2,T=128,dIn=64,dOut=64']],
    ['leaky-counter', ['lifecycle/diagnostics-baseline']],
    ['dispose-breaks', ['lifecycle/backend-dispose-then-use']],
  ] as const)('%s is caught by %j', async (bug, ids) => {
    const failing = await failingIds(bug);
    for (const id of ids) expect(failing, `${bug} must fail ${id}`).toContain(id);
  });
  it('lazy-large passes every small-input case: only the large-input cases catch it', async () => {
    expect((await failingIds('lazy-large')).every((id) => id.includes('T=128'))).toBe(true);
  });
});
