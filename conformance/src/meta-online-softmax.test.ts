// Test the tester for online-softmax kernels (flash attention over key blocks): each bug of
// buggy/online-softmax.ts, and numeric.ts's 'fast-path-flash-no-rescale', fails the cases written for
// it (groups/numeric-online-softmax.ts and the sizes past one block), while a correct online softmax
// passes the whole numeric and causal-mask groups.
import type { MhaBackend } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { numericBuggyBackend } from './buggy/numeric.js';
import { onlineSoftmaxBuggyBackend, ONLINE_SOFTMAX_BUGS, type OnlineSoftmaxBug } from './buggy/online-softmax.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { profileFor } from './profiles.js';
import { buildSuite, runCase } from './suite.js';

const fixtures = loadFixtureDir(builtinFixturesDir());
const suite = buildSuite({ fixtures, groups: ['numeric', 'causal-mask'] });
const OS = 'numeric/online-softmax/';

/** For each bug, id prefixes that must fail. */
const MUST_FAIL: Readonly<Record<Exclude<OnlineSoftmaxBug, 'none'>, readonly string[]>> = {
  'accumulator-not-rescaled': [`${OS}max-grows-every-key/`, `${OS}max-grows-every-key-causal/`, `${OS}max-grows-by-block/`, 'numeric/sizes/core-op/t1024/'],
  'sum-not-rescaled': [`${OS}max-grows-every-key/`, `${OS}max-grows-every-key-causal/`, `${OS}max-grows-by-block/`, 'numeric/sizes/core-op/t1024/'],
  'masked-block-nan': [`${OS}left-padding-bool/`, `${OS}additive-masked-blocks/`, `${OS}random-mask-large-logits-softcap/`],
  'masked-as-lowest': [`${OS}additive-masked-blocks/`, `${OS}random-mask-large-logits-softcap/`],
};

/** Ids among the cases whose id starts with one of `only` (all when undefined) that fail on `backend`. */
async function failingIds(backend: MhaBackend, only?: readonly string[]): Promise<string[]> {
  const profile = profileFor(backend.name);
  const failing: string[] = [];
  for (const c of suite) {
    if (only && !only.some((p) => c.id.startsWith(p))) continue;
    if ((await runCase(c, backend, profile)).status === 'fail') failing.push(c.id);
  }
  return failing;
}

describe('the suite catches online-softmax bugs', () => {
  it('lists every prefix it relies on', () => {
    const ids = suite.map((c) => c.id);
    for (const prefixes of Object.values(MUST_FAIL)) for (const p of prefixes) expect(ids.some((id) => id.startsWith(p)), p).toBe(true);
  });

  it('a correct online softmax passes every numeric and causal-mask case', { timeout: 600_000 }, async () => {
    expect(await failingIds(onlineSoftmaxBuggyBackend('none'))).toEqual([]);
  });

  it.each(ONLINE_SOFTMAX_BUGS.filter((b): b is Exclude<OnlineSoftmaxBug, 'none'> => b !== 'none'))('%s fails the cases written for it', { timeout: 600_000 }, async (bug) => {
    const failing = await failingIds(onlineSoftmaxBuggyBackend(bug), MUST_FAIL[bug]);
    for (const p of MUST_FAIL[bug]) expect(failing.some((id) => id.startsWith(p)), `${bug} must fail ${p}`).toBe(true);
  });

  it('masked-block-nan passes every case but the online-softmax ones: only they mask a whole block of a live row', { timeout: 600_000 }, async () => {
    const failing = await failingIds(onlineSoftmaxBuggyBackend('masked-block-nan'));
    expect(failing.length).toBeGreaterThan(0);
    expect(failing.filter((id) => !id.startsWith(OS))).toEqual([]);
  });

  it("numeric.ts's fast-path-flash-no-rescale (blocks of 32, nothing rescaled) fails the online-softmax cases on the rising max", { timeout: 600_000 }, async () => {
    const prefixes = [`${OS}max-grows-every-key/`, `${OS}max-grows-every-key-causal/`, `${OS}max-grows-by-block/`];
    const failing = await failingIds(numericBuggyBackend('fast-path-flash-no-rescale'), prefixes);
    for (const p of prefixes) expect(failing.some((id) => id.startsWith(p)), p).toBe(true);
  });
});
