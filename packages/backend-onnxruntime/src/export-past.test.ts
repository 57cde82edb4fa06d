// The exported core-op graph with past/present (issue 14), run in onnxruntime-node directly: a decoder step a
// user can run without this package. Oracle: core's float64 reference of the same call with pastKey/pastValue.
import { randomTensor, referenceAttention, type AttentionMask, type Tensor } from '@mha/core';
import { exportAttentionOp, CORE_OP_NAMES as N, type AttentionOpExportOptions } from '@mha/onnx';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

const feed = (t: Tensor) => new OrtTensor('float32', Float32Array.from(t.data), [...t.shape]);

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1e-5 + 1e-4 * Math.abs(want[i]!)));
  expect(worst, `${what}: worst error / tolerance`).toBeLessThanOrEqual(tol);
}

const CASES: { name: string; B: number; Hq: number; Hkv: number; P: number; T: number; dk: number; dv: number; causal: boolean; mask?: 'additive' | 'bool'; weights?: boolean }[] = [
  { name: 'causal decode step (1 new over 9 cached)', B: 1, Hq: 4, Hkv: 4, P: 9, T: 1, dk: 8, dv: 8, causal: true },
  { name: 'causal chunk, bottom-right (3 new over 5 cached), weights', B: 2, Hq: 2, Hkv: 2, P: 5, T: 3, dk: 8, dv: 8, causal: true, weights: true },
  { name: 'grouped-query 6/2, dv != dk, causal', B: 1, Hq: 6, Hkv: 2, P: 4, T: 2, dk: 8, dv: 5, causal: true },
  { name: 'additive mask over past + new keys', B: 1, Hq: 2, Hkv: 2, P: 6, T: 2, dk: 4, dv: 4, causal: false, mask: 'additive' },
  { name: 'bool mask over past + new keys, causal', B: 1, Hq: 2, Hkv: 2, P: 3, T: 3, dk: 4, dv: 4, causal: true, mask: 'bool' },
];

describe('exportAttentionOp({ past: true }) in onnxruntime-node', () => {
  for (const flavour of ['decomposed', 'attention-op'] as const) {
    for (const c of CASES) {
      it(`${flavour}: ${c.name}`, async () => {
        const q = randomTensor([c.B, c.Hq, c.T, c.dk], 1, 2);
        const k = randomTensor([c.B, c.Hkv, c.T, c.dk], 2, 2);
        const v = randomTensor([c.B, c.Hkv, c.T, c.dv], 3);
        const pastKey = randomTensor([c.B, c.Hkv, c.P, c.dk], 4, 2);
        const pastValue = randomTensor([c.B, c.Hkv, c.P, c.dv], 5);
        const total = c.P + c.T;
        const m = randomTensor([c.T, total], 6, 2);
        const mask: AttentionMask | undefined =
          c.mask === 'additive' ? { kind: 'additive', data: m.data, shape: [c.T, total] } : c.mask === 'bool' ? { kind: 'bool', data: Uint8Array.from(m.data, (x) => (x > -1 ? 1 : 0)), shape: [c.T, total] } : undefined;
        const graph: AttentionOpExportOptions = { flavour, causal: c.causal, past: true, weights: c.weights, mask: mask && { kind: mask.kind, rank: 2 } };
        const session = await InferenceSession.create(exportAttentionOp(graph));
        try {
          const feeds: Record<string, OrtTensor> = { [N.q]: feed(q), [N.k]: feed(k), [N.v]: feed(v), [N.pastKey]: feed(pastKey), [N.pastValue]: feed(pastValue) };
          if (mask) feeds[N.mask] = mask.kind === 'bool' ? new OrtTensor('bool', Uint8Array.from(mask.data), [...mask.shape]) : feed(mask as Tensor);
          const r = await session.run(feeds);
          const want = referenceAttention(q, k, v, { causal: c.causal, pastKey, pastValue, mask });
          close(r[N.output]!.data as Float32Array, want.output.data, 1, 'output');
          expect(r[N.presentKey]!.dims).toEqual([c.B, c.Hkv, total, c.dk]);
          // present = concat(past, new): exact.
          const pk = r[N.presentKey]!.data as Float32Array;
          const pv = r[N.presentValue]!.data as Float32Array;
          for (let bh = 0; bh < c.B * c.Hkv; bh++) {
            expect(Array.from(pk.subarray(bh * total * c.dk, (bh * total + c.P) * c.dk))).toEqual(Array.from(pastKey.data.subarray(bh * c.P * c.dk, (bh + 1) * c.P * c.dk)));
            expect(Array.from(pk.subarray((bh * total + c.P) * c.dk, (bh + 1) * total * c.dk))).toEqual(Array.from(k.data.subarray(bh * c.T * c.dk, (bh + 1) * c.T * c.dk)));
            expect(Array.from(pv.subarray((bh * total + c.P) * c.dv, (bh + 1) * total * c.dv))).toEqual(Array.from(v.data.subarray(bh * c.T * c.dv, (bh + 1) * c.T * c.dv)));
          }
          if (c.weights) close(r[N.weights]!.data as Float32Array, want.weights.data, 1, 'weights');
        } finally {
          await session.release();
        }
      });
    }
  }
});
