// Test the tester: deliberately broken backends must be caught, each by the group that owns the bug.
import { describe, expect, it } from 'vitest';
import { buggyBackend, type Bug } from './buggy-backends.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import type { Group } from './case.js';
import { runSuite } from './suite.js';

const fixtures = loadFixtureDir(builtinFixturesDir());

async function failingGroups(bug: Bug): Promise<Set<Group>> {
  const report = await runSuite(buggyBackend(bug), { fixtures });
  return new Set(report.results.filter((r) => r.status === 'fail').map((r) => r.group));
}

describe('the suite catches broken backends', () => {
  it('an independent correct implementation passes everything (so the bugs below are what fails)', async () => {
    expect([...(await failingGroups('none'))]).toEqual([]);
  });
  it.each([
    ['merge-order', ['head-split', 'numeric']],
    ['causal-off-by-one', ['causal-mask', 'numeric']],
    ['causal-ignored', ['causal-mask', 'numeric']],
    ['no-scale', ['numeric']],
    ['unstable-softmax', ['numeric']],
  ] as const)('%s is caught by %j', async (bug, groups) => {
    const failing = await failingGroups(bug);
    for (const g of groups) expect(failing, `${bug} must fail ${g}`).toContain(g);
  });
});
