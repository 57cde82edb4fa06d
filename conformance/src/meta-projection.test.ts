// Test the tester for the projection hook (BackendDefinition.createProjection): every projection bug fails
// module-feature cases, so the suite exercises the hook; a correct hook passes every module-feature case.
import { describe, expect, it } from 'vitest';
import { projectionBuggyBackend, PROJECTION_BUGS, type ProjectionBug } from './buggy/projection.js';
import { loadModuleFixtures } from './module-fixture-files.js';
import { profileFor } from './profiles.js';
import { buildSuite, runCase } from './suite.js';

const moduleFixtures = loadModuleFixtures();
// Every case of a lowered module call: the module features and the module KV cache (its steps are lowered too).
const cases = buildSuite({ fixtures: [], moduleFixtures }).filter((c) => c.id.includes('module-features') || c.id.includes('module-alignment') || c.id.includes('kv-cache/module-'));

/** Per bug, cases of each kind of lowered call: GQA/MQA, cross-attention with kdim/vdim, masks, averaged weights, the module cache. */
const MUST_FAIL: Readonly<Record<Exclude<ProjectionBug, 'none'>, readonly string[]>> = {
  // Llama has no biases, so the GQA goldens cannot see this one; PyTorch's nn.MultiheadAttention has them.
  'bias-dropped': [
    'numeric/module-features/golden/mha-cross-kdim-vdim',
    'numeric/module-features/golden/mha-self-attn-bool-2d',
    'numeric/module-features/golden/mha-average-weights',
    'numeric/module-features/reference/gqa-cross-kdim-vdim-kpm',
    'properties/module-features-match-reference/runs=12',
    'numeric/kv-cache/module-decode/gqa-bias-chunks-4-1-3-1',
  ],
  'weights-transposed': [
    'numeric/module-features/golden/llama-gqa-h4-kv2',
    'numeric/module-features/golden/llama-mqa-h4-kv1',
    'numeric/module-features/golden/mha-cross-kdim-vdim',
    'numeric/module-features/golden/mha-self-attn-bool-2d',
    'numeric/module-features/golden/mha-average-weights',
    'numeric/module-features/reference/gqa-cross-kdim-vdim-kpm',
    'properties/module-features-match-reference/runs=12',
    'numeric/kv-cache/module-decode/gqa-bias-chunks-4-1-3-1',
  ],
  'last-row-zero': [
    'numeric/module-features/golden/llama-gqa-h4-kv2',
    'numeric/module-features/golden/mha-cross-kdim-vdim',
    'numeric/module-features/golden/mha-self-attn-bool-2d',
    'numeric/module-features/reference/gqa-cross-kdim-vdim-kpm',
    'properties/module-features-match-reference/runs=12',
    'numeric/kv-cache/module-decode/gqa-bias-chunks-4-1-3-1',
  ],
};

describe('meta: projection hook', () => {
  it('has the cases the meta-test names', () => {
    const ids = new Set(cases.map((c) => c.id));
    for (const list of Object.values(MUST_FAIL)) for (const id of list) expect(ids.has(id), id).toBe(true);
  });
  for (const bug of PROJECTION_BUGS) {
    it(bug === 'none' ? 'a correct hook passes every module-feature case' : `'${bug}' fails its cases`, async () => {
      const backend = projectionBuggyBackend(bug);
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
