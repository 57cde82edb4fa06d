// The report's "likely cause" classifier, proven on the deliberately broken backends.
import { describe, expect, it } from 'vitest';
import { buggyBackend } from './buggy-backends.js';
import { likelyCauses, probe } from './diagnose.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { referenceBackend } from './reference-backend.js';
import { formatDetails } from './report.js';
import { runSuite, type CaseResult } from './suite.js';

const fixtures = loadFixtureDir(builtinFixturesDir());

describe('likely cause', () => {
  it.each([
    ['merge-order', /heads merged in the wrong order/],
    ['causal-off-by-one', /causal mask off by one/],
    ['causal-ignored', /causal mask ignored/],
    ['no-scale', /missing scale/],
    ['unstable-softmax', /unstable softmax/],
  ] as const)('names %s, and only it, for the backend with that bug', async (bug, text) => {
    const report = await runSuite(buggyBackend(bug), { fixtures });
    expect(report.results.some((r) => r.status === 'fail')).toBe(true);
    expect(report.likelyCauses?.map((c) => c.bug)).toEqual([bug]);
    expect(formatDetails([report])).toMatch(new RegExp(`^likely cause \\(buggy-${bug}\\): ${text.source}`, 'm'));
  });
  it('names nothing for correct backends, even when handed failures', async () => {
    for (const b of [buggyBackend('none'), referenceBackend]) {
      const report = await runSuite(b, { fixtures, groups: ['numeric'] });
      expect(report.likelyCauses).toBeUndefined();
      const fake: CaseResult[] = [{ id: 'head-split/concat-single-heads/x', group: 'head-split', title: '', spec: '', status: 'fail', maxAbs: 0, maxRel: 0, ratio: 0, ms: 0 }];
      // A head-split failure alone (core op fine) is the merge-order pattern; every probe of a correct backend is clean.
      expect(likelyCauses(fake, await probe(b)).map((c) => c.bug)).toEqual(['merge-order']);
      expect(likelyCauses([{ ...fake[0]!, id: 'numeric/golden/x', group: 'numeric' }], await probe(b))).toEqual([]);
    }
  });
  it('the probes measure what a correct backend does', async () => {
    expect(await probe(referenceBackend)).toEqual({ causalVisible: [1, 2, 3, 4, 5], scale: expect.closeTo(0.5, 5), largeLogitsFinite: true });
  });
  it('classifies a scale of 1/d and an arbitrary wrong causal pattern by the probe values', () => {
    const fail: CaseResult[] = [{ id: 'numeric/x', group: 'numeric', title: '', spec: '', status: 'fail', maxAbs: 1, maxRel: 1, ratio: 9, ms: 0 }];
    expect(likelyCauses(fail, { scale: 0.25, causalVisible: [1, 2, 3, 4, 5], largeLogitsFinite: true }).map((c) => c.bug)).toEqual(['wrong-scale']);
    expect(likelyCauses(fail, { scale: 0.5, causalVisible: [1, 1, 1, 1, 1], largeLogitsFinite: true })[0]!.hint).toMatch(/see 1, 1, 1, 1, 1 keys/);
    expect(likelyCauses([], { scale: 1, causalVisible: [5, 5, 5, 5, 5], largeLogitsFinite: false })).toEqual([]);
  });
});

describe('NaN position', () => {
  it('an onnx-peer case whose output holds NaN reports the NaN element as the worst element', async () => {
    const { defineBackend } = await import('@mha/core');
    const { builtinOnnxPeerDir, loadOnnxPeerCases } = await import('./onnx-peer.js');
    // Written around defineBackend's result: through core, a NaN output becomes MHA_OVERFLOW instead
    // (SPEC.md, "Non-finite values"); a hand-written backend can still return one, and the report must place it.
    const base = defineBackend({
      name: 'nan-at-3',
      runtimes: ['node'],
      capabilities: ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'],
      createKernel: () => ({ forward: () => ({ output: new Float32Array(0) }) }),
      attention: () => ({ output: new Float32Array(0) }),
    });
    const nanAt3: typeof base = {
      ...base,
      async attention(q, k, v, options) {
        const r = await referenceBackend.attention(q, k, v, { ...options, returnWeights: false });
        const output = Float32Array.from(r.output.data);
        output[3] = Number.NaN;
        return { output: { data: output, shape: r.output.shape } };
      },
    };
    const report = await runSuite(nanAt3, { fixtures: [], onnxPeer: loadOnnxPeerCases(builtinOnnxPeerDir()), groups: ['onnx-peer'], filter: 'onnx-peer/test_attention_4d', maxFailures: 1, diagnose: false });
    const f = report.results.find((r) => r.status === 'fail')!;
    expect(f.reason).toMatch(/NaN at flat index 3/);
    expect(f.worst).toMatchObject({ index: 3, position: [0, 0, 0, 3] });
    expect(formatDetails([report])).toContain('worst element [0,0,0,3]: expected');
  });
});
