// Test the tester for issue 13: each module-feature bug fails the cases written for it, and the correct
// reference passes every module-feature case.
import { describe, expect, it } from 'vitest';
import { moduleBuggyBackend, MODULE_BUGS, type ModuleBug } from './buggy/module.js';
import { loadModuleFixtures } from './module-fixture-files.js';
import { profileFor } from './profiles.js';
import { buildSuite, runCase } from './suite.js';

const moduleFixtures = loadModuleFixtures();
const cases = buildSuite({ fixtures: [], moduleFixtures }).filter((c) => c.id.includes('module-features') || c.id.includes('module-alignment'));

const MUST_FAIL: Readonly<Record<Exclude<ModuleBug, 'none'>, readonly string[]>> = {
  'gqa-kv-head-modulo': ['numeric/module-features/golden/llama-gqa-h4-kv2', 'numeric/module-features/reference/gqa-cross-kdim-vdim-kpm', 'properties/module-features-match-reference/runs=12'],
  'mask-ignored': [
    'numeric/module-features/golden/mha-cross-kpm',
    'numeric/module-features/golden/mha-self-attn-bool-2d',
    'numeric/module-features/golden/mha-self-attn-bool-3d',
    'numeric/module-features/golden/mha-self-attn-float-3d',
    'numeric/module-features/golden/mha-average-weights',
    'numeric/module-features/golden/mha-fully-masked-row',
    'numeric/module-features/golden/mha-causal-cross-bottom-right',
    'lifecycle/module-features-inputs-read-during-call',
    'properties/module-features-match-reference/runs=12',
  ],
  'square-keys': ['numeric/module-features/golden/mha-cross-kdim-vdim'],
  'causal-always-bottom-right': ['numeric/module-features/golden/mha-causal-cross-top-left', 'causal-mask/module-alignment'],
};

describe('meta: module features (issue 13)', () => {
  it('has the cases the meta-test names', () => {
    const ids = new Set(cases.map((c) => c.id));
    for (const list of Object.values(MUST_FAIL)) for (const id of list) expect(ids.has(id), id).toBe(true);
  });
  for (const bug of MODULE_BUGS) {
    it(bug === 'none' ? 'the reference passes every module-feature case' : `'${bug}' fails its cases`, async () => {
      const backend = moduleBuggyBackend(bug);
      const profile = profileFor(backend.name);
      const failed = new Set<string>();
      for (const c of cases) {
        const r = await runCase(c, backend, profile);
        if (r.status === 'fail') failed.add(c.id);
        if (bug === 'none') expect(r.status, `${c.id}: ${r.reason ?? ''}`).toBe('pass');
      }
      if (bug !== 'none') for (const id of MUST_FAIL[bug]) expect(failed.has(id), `${bug} should fail ${id}`).toBe(true);
    });
  }
});
