// Test the tester for the module cache (issue 14): each module-cache bug fails the module kv-cache cases,
// and the unmodified control passes all of them.
import { describe, expect, it } from 'vitest';
import { moduleKvCacheBuggyBackend, MODULE_KV_CACHE_BUGS, type ModuleKvCacheBug } from './buggy/module-kvcache.js';
import { profileFor } from './profiles.js';
import { kvInPlaceBackend } from './buggy/module-kv-in-place.js';
import { loadModuleFixtures } from './module-fixture-files.js';
import { buildSuite, runCase } from './suite.js';

const cases = buildSuite({ fixtures: [], moduleFixtures: loadModuleFixtures(), groups: ['numeric', 'errors'] }).filter((c) => c.id.includes('/kv-cache/module-'));

/** For each bug, ids (prefixes) that must fail. */
const MUST_FAIL: Readonly<Record<Exclude<ModuleKvCacheBug, 'none'>, readonly string[]>> = {
  'module-past-ignored': [
    'numeric/kv-cache/module-decode/mha-token-by-token',
    'numeric/kv-cache/module-decode/gqa-bias-chunks-4-1-3-1',
    'numeric/kv-cache/module-property/',
    'numeric/kv-cache/module-torch/decode-mha-token-by-token',
    'numeric/kv-cache/module-torch/decode-gqa-chunks-3-1-4-2',
    'numeric/kv-cache/module-torch/decode-mqa-prefill-then-steps',
    'numeric/kv-cache/module-torch/decode-no-bias-chunks-2-3-1',
  ],
  'module-not-appended': ['numeric/kv-cache/module-decode/mha-token-by-token', 'numeric/kv-cache/module-decode/rollback-then-continue', 'numeric/kv-cache/module-property/'],
  'module-padding-attended': [
    'numeric/kv-cache/module-torch/decode-left-padding',
    'numeric/kv-cache/module-torch/decode-right-padding',
    'numeric/kv-cache/module-decode/left-padding-gqa',
    'numeric/kv-cache/module-decode/right-padding-mqa',
    'errors/kv-cache/module-cache-padding-core-op',
  ],
  'module-mask-ignored-with-cache': [
    'numeric/kv-cache/module-masked/gqa-bool-mask-bool-kpm',
    'numeric/kv-cache/module-masked/mha-additive-mask-averaged',
    'numeric/kv-cache/module-masked/mqa-additive-kpm-token-by-token',
    'errors/kv-cache/module-cache-mask-key-axis',
    'errors/kv-cache/module-cache-kpm-key-axis',
  ],
  'module-stage-ignored-with-cache': ['numeric/kv-cache/module-masked/gqa-bool-mask-bool-kpm', 'numeric/kv-cache/module-masked/mha-additive-mask-averaged', 'errors/kv-cache/module-cache-weights-stage'],
  'module-stage-ignored-without-cache': ['numeric/kv-cache/module-masked/gqa-bool-mask-bool-kpm', 'numeric/kv-cache/module-masked/mha-additive-mask-averaged', 'numeric/kv-cache/module-masked/mqa-additive-kpm-token-by-token'],
  'module-weights-over-new-keys': ['numeric/kv-cache/module-masked/gqa-bool-mask-bool-kpm', 'numeric/kv-cache/module-masked/mqa-additive-kpm-token-by-token'],
  'module-trace-new-keys-only': ['numeric/kv-cache/module-masked/gqa-bool-mask-bool-kpm', 'numeric/kv-cache/module-masked/mha-additive-mask-averaged', 'numeric/kv-cache/module-masked/mqa-additive-kpm-token-by-token'],
};

describe('the module KV-cache cases catch module cache bugs', () => {
  it('lists every id the bugs rely on', () => {
    const ids = cases.map((c) => c.id);
    expect(ids.length).toBeGreaterThan(8);
    for (const prefixes of Object.values(MUST_FAIL)) for (const p of prefixes) expect(ids.some((id) => id.startsWith(p)), p).toBe(true);
  });

  it('the control passes every module kv-cache case, none skipped', { timeout: 600_000 }, async () => {
    const backend = moduleKvCacheBuggyBackend('none');
    const statuses = await Promise.all(cases.map(async (c) => [c.id, (await runCase(c, backend, profileFor(backend.name))).status] as const));
    expect(statuses.filter(([, s]) => s !== 'pass')).toEqual([]);
  });

  it.each(MODULE_KV_CACHE_BUGS.filter((b): b is Exclude<ModuleKvCacheBug, 'none'> => b !== 'none'))('%s fails the cases for it', { timeout: 600_000 }, async (bug) => {
    const backend = moduleKvCacheBuggyBackend(bug);
    const failing: string[] = [];
    for (const c of cases) if ((await runCase(c, backend, profileFor(backend.name))).status === 'fail') failing.push(c.id);
    for (const p of MUST_FAIL[bug]) expect(failing.some((id) => id.startsWith(p)), `${bug} must fail ${p}`).toBe(true);
  });

  it('a kernel reading the cache in place (readsKvInPlace) passes when it honours kvRowsPerHead and fails the decode cases when it does not', { timeout: 600_000 }, async () => {
    const numeric = cases.filter((c) => c.group === 'numeric');
    const run = async (honour: boolean) => {
      const backend = kvInPlaceBackend(honour);
      return Promise.all(numeric.map(async (c) => [c.id, (await runCase(c, backend, profileFor(backend.name))).status] as const));
    };
    expect((await run(true)).filter(([, s]) => s !== 'pass')).toEqual([]);
    const failing = (await run(false)).filter(([, s]) => s === 'fail').map(([id]) => id);
    for (const id of ['numeric/kv-cache/module-decode/mha-token-by-token', 'numeric/kv-cache/module-torch/decode-gqa-chunks-3-1-4-2', 'numeric/kv-cache/module-property/']) expect(failing.some((f) => f.startsWith(id)), id).toBe(true);
  });
});
