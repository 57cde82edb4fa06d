// The native projection of lowered module calls (createProjection): one cached MatMul(+Add) session per backend
// and bias kind, shared by every projection of every module, released by backend.dispose(); results match the
// float64 reference and the one-key fallback it replaces.
import { deriveBackend, initWeights, randomTensor, referenceForward, resolveConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { createOrtBackend } from './index.js';
import { expectClose } from './test-helpers.js';

describe.each(['attention-op', 'decomposed'] as const)('ort-%s native projection', (flavour) => {
  it('GQA and cross-attention modules share one linear session per bias kind; results match the reference and the fallback', async () => {
    const backend = createOrtBackend({ flavour, intraOpNumThreads: 1 });
    const fallback = deriveBackend(backend, { name: 'ort-one-key', createProjection: undefined });
    const gqa = resolveConfig({ dIn: 24, heads: 6, headDim: 4, kvHeads: 2, causal: true, qkvBias: true });
    const cross = resolveConfig({ dIn: 16, heads: 2, headDim: 4, kdim: 5, vdim: 7, outProjBias: false });
    const x1 = randomTensor([2, 9, 24], 1);
    const x2 = randomTensor([2, 4, 16], 2);
    const o2 = { key: randomTensor([2, 6, 5], 3), value: randomTensor([2, 6, 7], 4) };
    try {
      const m1 = await backend.createModule(gqa, initWeights(gqa, 5));
      const r1 = await m1.forward(x1);
      // The core-op session and the linear session with a bias (every projection of this module has one).
      expect(backend.diagnostics().sessions).toBe(2);
      const m2 = await backend.createModule(gqa, initWeights(gqa, 6));
      await m2.forward(x1);
      expect(backend.diagnostics().sessions).toBe(2);
      const m3 = await backend.createModule(cross, initWeights(cross, 7));
      const r3 = await m3.forward(x2, o2);
      // + the linear session without a bias and the core-op graph of a non-causal call.
      expect(backend.diagnostics().sessions).toBe(4);
      expectClose(r1.output.data, referenceForward(gqa, initWeights(gqa, 5), x1).output.data, 'GQA output vs reference');
      expectClose(r3.output.data, referenceForward(cross, initWeights(cross, 7), x2, o2).output.data, 'cross output vs reference');
      const f1 = await fallback.createModule(gqa, initWeights(gqa, 5));
      expectClose(r1.output.data, (await f1.forward(x1)).output.data, 'GQA output vs the one-key fallback');
      for (const m of [m1, m2, m3, f1]) await m.dispose();
    } finally {
      await backend.dispose();
      await fallback.dispose();
    }
    expect(backend.diagnostics().sessions).toBe(0);
  });
});
