// Test the tester: backends that compute every number right but break the error contract are caught
// by the errors group's field / value / config checks, and by nothing else.
import { describe, expect, it } from 'vitest';
import { buggyBackend } from './buggy-backends.js';
import { errorBuggyBackend, type ErrorBug } from './buggy/errors.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import type { MhaBackend } from '@mha/core';
import { runSuite, type CaseResult } from './suite.js';

const fixtures = loadFixtureDir(builtinFixturesDir());

async function failures(backend: MhaBackend): Promise<CaseResult[]> {
  const report = await runSuite(backend, { fixtures });
  return report.results.filter((r) => r.status === 'fail');
}

describe('the errors group checks field and value, not only the code', () => {
  it('the correct implementation the buggy ones wrap passes the errors group', async () => {
    const report = await runSuite(buggyBackend('none'), { fixtures, groups: ['errors'] });
    expect(report.results.filter((r) => r.status === 'fail').map((r) => `${r.id}: ${r.reason}`)).toEqual([]);
  });

  it.each([
    ['renamed-fields', /: right code MHA_[A-Z_]+, but field '/, ['errors/heads-not-dividing-dOut', 'errors/weight-wrong-length', 'errors/x-dIn-mismatch', 'errors/option-unknown', 'errors/core-op-batch-mismatch']],
    ['described-values', /: right code MHA_[A-Z_]+ and field '[^']+', but value /, ['errors/zero-dIn', 'errors/weight-float64', 'errors/x-rank-2', 'errors/x-NaN', 'errors/core-op-NaN-scale']],
  ] as const)('%s: caught only in errors, each time with the right code (a code-only check passes it)', async (bug, reason, mustFail) => {
    const failed = await failures(errorBuggyBackend(bug as ErrorBug));
    for (const id of mustFail) expect(failed.map((r) => r.id), `${bug} must fail ${id}`).toContain(id);
    for (const r of failed) {
      expect(r.group, `${r.id} failed outside the errors group`).toBe('errors');
      expect(r.reason, `${r.id} must fail on field/value with the code right`).toMatch(reason);
    }
  });

  it('live-config: a mutable module.config that later forwards read is caught by the config case, and only by it', async () => {
    const failed = await failures(errorBuggyBackend('live-config'));
    expect(failed.map((r) => r.id)).toEqual(['errors/module-config-cannot-change-the-module']);
  });
});
