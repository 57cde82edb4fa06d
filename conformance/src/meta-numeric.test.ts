// Test the tester, conformance v2 (issue 11): each numeric bug below passes every case the suite had
// before v2 and fails the v2 cases written for its class.
import { describe, expect, it } from 'vitest';
import { numericBuggyBackend, NUMERIC_BUGS, type NumericBug } from './buggy/numeric.js';
import type { Group } from './case.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { profileFor } from './profiles.js';
import { buildSuite, runCase } from './suite.js';

const fixtures = loadFixtureDir(builtinFixturesDir());
const GROUPS: Group[] = ['shapes', 'causal-mask', 'head-split', 'numeric', 'properties'];

/** Golden fixtures added by v2 (fixtures/generate.py, build_numeric_v2). */
const V2_FIXTURES = ['torch-mha-t300-h16', 'book-mha-din100-t97', 'attention-t300-dh7-causal', 'attention-t41-dh131', 'attention-cross-tq97-tk1-dh100', 'attention-t1031-causal', 'attention-gqa-h16-kv4'];

/** Id prefixes of the cases v2 added; every other id existed before. */
const V2_PREFIXES = [
  'numeric/golden-without-weights/',
  'numeric/golden-with-weights/',
  'numeric/reference-without-weights/',
  'numeric/config-scale/',
  'numeric/core-op-without-weights/',
  'numeric/sizes/',
  'numeric/core-op-features/',
  'numeric/masks-in-float32/',
  'causal-mask/core-op/alignment/',
  'properties/every-path-matches-reference/',
  'properties/core-op-matches-reference/',
  'numeric/kv-cache/', // added after v2 (issue 14); its bugs are in meta-kvcache.test.ts
  ...V2_FIXTURES.map((id) => `numeric/golden/${id}`),
];
/** Cases added after v2 (issue 13's module features): they catch some of these bugs too, which is fine. */
const LATER_PREFIXES = ['numeric/online-softmax/', 'numeric/module-features/', 'causal-mask/module-alignment', 'properties/module-features-match-reference/'];
const isV2 = (id: string) => V2_PREFIXES.some((p) => id.startsWith(p)) || LATER_PREFIXES.some((p) => id.startsWith(p));

/** For each bug, v2 ids (prefixes) that must fail: at least one per class the bug belongs to. */
const MUST_FAIL: Readonly<Record<Exclude<NumericBug, 'none'>, readonly string[]>> = {
  'fast-path-ignores-scale': ['numeric/golden-without-weights/attention-scale', 'numeric/config-scale/scale-0.05-causal/', 'numeric/core-op-without-weights/scale,', 'properties/every-path-matches-reference/'],
  'fast-path-flash-no-rescale': ['numeric/golden-without-weights/torch-mha-d256-h8-t64', 'numeric/golden/attention-t1031-causal', 'numeric/sizes/module/T300-h16-din100-dh7/', 'numeric/sizes/core-op/t1024/'],
  'keys-past-256-dropped': ['numeric/golden/attention-t300-dh7-causal', 'numeric/golden/torch-mha-t300-h16', 'numeric/sizes/module/T1024-no-weights/', 'numeric/sizes/core-op/t257-dv100/'],
  'dot-tail-dropped': ['numeric/golden/attention-t41-dh131', 'numeric/sizes/module/T257-din131-dh97/', 'numeric/sizes/core-op/dk97-tk7/', 'numeric/sizes/core-op/dk131-t100/'],
  'softcap-after-mask': ['numeric/core-op-features/softcap-causal/', 'numeric/core-op-features/softcap-additive-mask/', 'numeric/core-op-features/softcap-bool-mask-causal/'],
  'gqa-mask-by-kv-head': ['numeric/core-op-features/gqa-per-head-bool-mask/', 'numeric/core-op-features/gqa-per-head-additive-mask/'],
  'causal-decode-sees-all': ['causal-mask/core-op/alignment/decode-tq1/', 'causal-mask/core-op/alignment/decode-tq1-masked/'],
  'bool-mask-equals-1': ['numeric/core-op-features/bool-mask-bytes/'],
  'lowest-treated-as-masked': ['numeric/core-op-features/float32-lowest-additive/'],
  'mask-add-float64': ['numeric/masks-in-float32/row-of-minus-1e9/', 'numeric/masks-in-float32/minus-1e9-causal-gqa/'],
  'nonpositive-scale-is-default': ['numeric/core-op-features/scale-0/', 'numeric/core-op-features/scale-negative/', 'numeric/core-op-features/scale-0-large-logits/', 'numeric/config-scale/scale-0/', 'numeric/config-scale/scale-negative/'],
  'rank3-mask-left-aligned': ['numeric/core-op-features/rank3-mask-additive/', 'numeric/core-op-features/rank3-mask-bool/'],
  'mask-dense-last-dims': ['numeric/core-op-features/key-padding-bool/', 'numeric/core-op-features/key-padding-additive/', 'numeric/core-op-features/query-broadcast-bool/', 'numeric/core-op-features/query-broadcast-additive/'],
};

/**
 * Ids that fail for `bug`, running every pre-v2 case plus the v2 cases `only` selects (all of them by
 * default); leaving out the v2 cases a bug is not about keeps the run short.
 */
async function failingIds(bug: NumericBug, only?: readonly string[]): Promise<string[]> {
  const backend = numericBuggyBackend(bug);
  const profile = profileFor(backend.name);
  const failing: string[] = [];
  for (const c of buildSuite({ fixtures, groups: GROUPS })) {
    if (only && isV2(c.id) && !only.some((p) => c.id.startsWith(p))) continue;
    if ((await runCase(c, backend, profile)).status === 'fail') failing.push(c.id);
  }
  return failing;
}

describe('conformance v2 catches numeric bugs the earlier cases could not', () => {
  it('lists every v2 fixture and prefix it relies on', () => {
    const ids = buildSuite({ fixtures, groups: GROUPS }).map((c) => c.id);
    for (const p of V2_PREFIXES) expect(ids.some((id) => id.startsWith(p)), p).toBe(true);
    for (const prefixes of Object.values(MUST_FAIL)) for (const p of prefixes) expect(ids.some((id) => id.startsWith(p)), p).toBe(true);
  });

  it('an independent correct implementation passes everything', { timeout: 600_000 }, async () => {
    expect(await failingIds('none')).toEqual([]);
  });

  it.each(NUMERIC_BUGS.filter((b): b is Exclude<NumericBug, 'none'> => b !== 'none'))('%s passes every pre-v2 case and fails the v2 cases for it', { timeout: 600_000 }, async (bug) => {
    const failing = await failingIds(bug, MUST_FAIL[bug]);
    expect(failing.filter((id) => !isV2(id)), `${bug} must pass every pre-v2 case`).toEqual([]);
    for (const p of MUST_FAIL[bug]) expect(failing.some((id) => id.startsWith(p)), `${bug} must fail ${p}`).toBe(true);
  });
});
