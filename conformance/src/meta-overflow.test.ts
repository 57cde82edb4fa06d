// Test the tester: a float32 kernel that reads "every score is -Infinity" as "every key is masked" returns
// zeros for finite inputs whose scores overflow below -float32 max; the lifecycle/overflow/*-negative cases
// catch it, and a kernel that lets the overflow surface (MHA_OVERFLOW) passes them.
import { describe, expect, it } from 'vitest';
import { overflowBuggyBackend, type OverflowBug } from './buggy/overflow.js';
import { runSuite } from './suite.js';

async function overflowResults(bug: OverflowBug): Promise<Map<string, string>> {
  const report = await runSuite(overflowBuggyBackend(bug), { fixtures: [], groups: ['lifecycle'], filter: 'lifecycle/overflow/' });
  return new Map(report.results.map((r) => [r.id, r.status]));
}

describe('the overflow cases catch an overflow taken for a mask', () => {
  it('a kernel that surfaces the overflow passes every overflow case', async () => {
    const r = await overflowResults('none');
    expect([...r.keys()].sort()).toEqual(['lifecycle/overflow/core-op', 'lifecycle/overflow/core-op-negative', 'lifecycle/overflow/forward', 'lifecycle/overflow/forward-negative', 'lifecycle/overflow/module-features-negative']);
    expect([...r.values()].every((s) => s === 'pass')).toBe(true);
  });
  it('overflowed-row-as-masked fails exactly the two negative cases', async () => {
    const r = await overflowResults('overflowed-row-as-masked');
    expect(r.get('lifecycle/overflow/core-op-negative')).toBe('fail');
    expect(r.get('lifecycle/overflow/forward-negative')).toBe('fail');
    expect(r.get('lifecycle/overflow/core-op')).toBe('pass');
    expect(r.get('lifecycle/overflow/forward')).toBe('pass');
    // A lowered (grouped-query) call: core refuses the overflowed q/k projection before the kernel sees it, so
    // this case tests core (core's projection.test.ts fails without that check); the buggy kernel passes it.
    expect(r.get('lifecycle/overflow/module-features-negative')).toBe('pass');
  });
});
