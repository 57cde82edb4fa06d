import { describe, expect, it } from 'vitest';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { profileFor } from './profiles.js';
import { referenceBackend } from './reference-backend.js';
import { runCase, runSuite, skipReason } from './suite.js';

// A backend that declares it runs only in browsers (WebGPU) is skipped with that reason under Node,
// never run into MHA_BACKEND_UNAVAILABLE failures and never counted as passed.
describe('runtime skip', () => {
  const browserOnly = { ...referenceBackend, name: 'browser-only', runtimes: ['browser'] as const };
  const fixtures = loadFixtureDir(builtinFixturesDir());

  it('skips every case of a backend that does not run here, naming the runtimes', async () => {
    const report = await runSuite(browserOnly, { fixtures, groups: ['shapes', 'lifecycle'] });
    expect(report.results.length).toBeGreaterThan(0);
    for (const r of report.results) {
      expect(r.status).toBe('skip');
      expect(r.reason).toBe('backend declares runtimes browser; this runtime is node');
    }
  });

  it('runs a backend that declares this runtime', async () => {
    const report = await runSuite(referenceBackend, { fixtures, groups: ['shapes'] });
    expect(report.results.every((r) => r.status === 'pass')).toBe(true);
    const c = { id: 'x/y', group: 'shapes' as const, title: '', spec: 'SPEC.md#shapes', run: async () => {} };
    expect(skipReason(c, referenceBackend, profileFor('reference'))).toBeUndefined();
    expect((await runCase(c, browserOnly, profileFor('browser-only'))).status).toBe('skip');
  });
});
