// core's delegate helpers: a backend that forwards everything to another one must pass the suite.
import { attentionArgs, attentionResult, defineBackend, delegateKernel, validateAttention, randomTensor, type MhaBackend } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { referenceBackend } from './reference-backend.js';
import { runSuite } from './suite.js';

/** Forwards module and core-op calls to `target`, counting them so the test knows they went there. */
function forwarding(target: MhaBackend) {
  const calls = { modules: 0, attention: 0 };
  const backend = defineBackend({
    name: 'delegating',
    runtimes: ['node'],
    capabilities: [...target.capabilities],
    createKernel(config, weights) {
      calls.modules++;
      return delegateKernel(target, config, weights);
    },
    async attention(a) {
      calls.attention++;
      return attentionResult(await target.attention(...attentionArgs(a)));
    },
  });
  return { backend, calls };
}

describe('delegate helpers', () => {
  it('attentionArgs rebuilds the tensors and only the options that were given', () => {
    const q = randomTensor([2, 4, 3, 5], 1);
    const k = randomTensor([2, 2, 6, 5], 2);
    const v = randomTensor([2, 2, 6, 7], 3);
    const mask = { kind: 'bool' as const, data: new Uint8Array(18).fill(1), shape: [3, 6] };
    const [q2, k2, v2, o] = attentionArgs(validateAttention(q, k, v, { causal: true, mask }));
    expect([q2.shape, k2.shape, v2.shape]).toEqual([q.shape, k.shape, v.shape]);
    // A plain view of the caller's memory (validation reads typed arrays through their internal slots), not a copy.
    expect(q2.data.buffer).toBe(q.data.buffer);
    expect(q2.data).toEqual(q.data);
    expect(o).toEqual({ causal: true, returnWeights: false, mask });
    const [, , , o2] = attentionArgs(validateAttention(q, k, v, { scale: 0.25, softcap: 3, returnWeights: true }));
    expect(o2).toEqual({ causal: false, returnWeights: true, scale: 0.25, softcap: 3 });
  });
  it('a backend delegating to the reference passes the shapes, causal-mask, head-split and numeric groups', async () => {
    const { backend, calls } = forwarding(referenceBackend);
    const report = await runSuite(backend, { fixtures: loadFixtureDir(builtinFixturesDir()), groups: ['shapes', 'causal-mask', 'head-split', 'numeric'] });
    const failed = report.results.filter((r) => r.status === 'fail');
    expect(failed.map((f) => `${f.id}: ${f.reason}`)).toEqual([]);
    expect(report.results.filter((r) => r.status === 'pass').length).toBeGreaterThan(80);
    expect(calls.modules).toBeGreaterThan(20);
    expect(calls.attention).toBeGreaterThan(10);
  });
});
