// The projection hook of the lowering (BackendDefinition.createProjection): module calls with features give the
// float64 reference's answer with and without it, and core's checks and lifecycle are the same on both paths.
import { describe, expect, it } from 'vitest';
import { defineBackend, type BackendDefinition, type ProjectionKernel } from './backend.js';
import { resolveConfig, type MhaConfig } from './config.js';
import { isMhaError } from './errors.js';
import { initWeights, randomTensor } from './init.js';
import type { ForwardOptions } from './validate.js';
import { referenceAttentionValid } from './reference/attention.js';
import { referenceForward } from './reference/forward.js';
import { merge, split } from './lowering.js';
import type { Tensor } from './tensor.js';

/** A float32 GEMM (each multiply-add rounded to float32), written apart from the reference's float64 one. */
function gemm32(x: Float32Array, rows: number, inW: number, w: Float32Array, n: number, b: Float32Array | undefined): Float32Array {
  const y = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let s = b ? b[j]! : 0;
      for (let i = 0; i < inW; i++) s = Math.fround(s + Math.fround(x[r * inW + i]! * w[i * n + j]!));
      y[r * n + j] = s;
    }
  }
  return y;
}

/** A float32 module kernel (projections by {@link gemm32}, attention by the reference), no projection hook. */
const plain: BackendDefinition = {
  name: 'plain',
  runtimes: ['node'],
  capabilities: ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'],
  createKernel: (config, w) => ({
    forward: ({ x, batch: B, tokens: T }) => {
      const { dIn, dOut, heads: H, headDim: dh } = config;
      const [q, k, v] = [gemm32(x, B * T, dIn, w.wq, dOut, w.bq), gemm32(x, B * T, dIn, w.wk, dOut, w.bk), gemm32(x, B * T, dIn, w.wv, dOut, w.bv)].map((m) => split(m, B, T, H, dh));
      const a = { q: q!, k: k!, v: v!, batch: B, qHeads: H, kvHeads: H, tq: T, tk: T, dk: dh, dv: dh, causal: config.causal, scale: config.scale, defaultScale: config.defaultScale, softcap: 0, mask: undefined, returnWeights: false };
      const merged = merge(Float32Array.from(referenceAttentionValid(a).output), B, T, H, dh);
      return { output: config.outProj ? gemm32(merged, B * T, dOut, w.wo!, dOut, w.bo) : merged };
    },
  }),
  attention: (a) => {
    const r = referenceAttentionValid(a);
    return { output: Float32Array.from(r.output), weights: a.returnWeights ? Float32Array.from(r.weights) : undefined };
  },
};

/** The same backend with a float32 projection hook that logs what core asks of it. */
function hooked(log: string[]): BackendDefinition {
  return {
    ...plain,
    name: 'hooked',
    createKernel: (config, weights) => {
      log.push(`kernel ${config.dIn}x${config.dOut}`);
      return plain.createKernel(config, weights);
    },
    createProjection(inW, n, w, b): ProjectionKernel {
      log.push(`create ${inW}x${n}${b ? '+b' : ''}`);
      return {
        project: (x, rows) => {
          log.push(`project ${rows}x${inW}x${n}`);
          return gemm32(x, rows, inW, w, n, b);
        },
        dispose: () => void log.push(`dispose ${inW}x${n}`),
      };
    },
  };
}

async function rejects(p: Promise<unknown>): Promise<{ code: string; field: string }> {
  try {
    await p;
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('did not throw');
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

interface Case {
  readonly name: string;
  readonly config: MhaConfig;
  readonly x: Tensor;
  readonly options: ForwardOptions;
}

const CASES: readonly Case[] = [
  { name: 'GQA, causal, biases', config: { dIn: 24, heads: 6, headDim: 4, kvHeads: 2, causal: true, qkvBias: true }, x: randomTensor([2, 7, 24], 3), options: {} },
  {
    name: 'cross-attention with kdim/vdim, key padding, averaged weights, no biases',
    config: { dIn: 8, heads: 2, headDim: 4, kdim: 5, vdim: 3 },
    x: randomTensor([2, 4, 8], 4),
    options: {
      key: randomTensor([2, 6, 5], 5),
      value: randomTensor([2, 6, 3], 6),
      keyPaddingMask: { kind: 'bool', data: Uint8Array.from([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0]), shape: [2, 6] },
      returnWeights: true,
      averageWeights: true,
    },
  },
  {
    name: 'self-attention, additive mask, bottom-right causal, output bias only',
    config: { dIn: 12, heads: 3, headDim: 4, causal: true, qkvBias: false, outProjBias: true },
    x: randomTensor([1, 5, 12], 7),
    options: { key: randomTensor([1, 8, 12], 8), value: randomTensor([1, 8, 12], 9), causalAlign: 'bottom-right', mask: { kind: 'additive', data: Float32Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? -Infinity : (i % 5) / 4)), shape: [5, 8] } },
  },
];

describe('lowered projections: the createProjection hook and the one-key fallback', () => {
  for (const c of CASES) {
    it(`${c.name}: both paths match the float64 reference`, async () => {
      const cfg = resolveConfig(c.config);
      const w = initWeights(cfg, 11);
      const ref = referenceForward(cfg, w, c.x, c.options);
      const refW = c.options.averageWeights ? ref.averagedWeights : ref.attentionWeights;
      const log: string[] = [];
      for (const def of [plain, hooked(log)]) {
        const m = await defineBackend(def).createModule(cfg, w);
        log.length = 0; // a config the plain kernel holds gets its own module kernel at createModule
        const r = await m.forward(c.x, c.options);
        const tol = 1e-5 * Math.max(1, maxAbs(ref.output.data));
        expect(r.output.shape).toEqual(ref.output.shape);
        r.output.data.forEach((v, i) => expect(Math.abs(v - ref.output.data[i]!), `${def.name} output[${i}]`).toBeLessThan(tol));
        if (c.options.returnWeights) r.weights!.data.forEach((v, i) => expect(Math.abs(v - refW.data[i]!), `${def.name} weights[${i}]`).toBeLessThan(1e-5));
        await m.dispose();
      }
      // The hooked backend projected natively: one projection per weight matrix, none on a module kernel.
      const { dIn, kdim, vdim, dOut, kvHeads, headDim } = cfg;
      const dKv = kvHeads * headDim;
      const b = cfg.qkvBias ? '+b' : '';
      const ob = cfg.outProjBias ? '+b' : '';
      expect(log.filter((l) => l.startsWith('kernel'))).toEqual([]);
      expect(log.filter((l) => l.startsWith('create')).sort()).toEqual([`create ${dIn}x${dOut}${b}`, `create ${kdim}x${dKv}${b}`, `create ${vdim}x${dKv}${b}`, `create ${dOut}x${dOut}${ob}`].sort());
      expect(log.filter((l) => l.startsWith('dispose'))).toHaveLength(4);
    });
  }

  it('creates each projection once, reuses it across calls and disposes it with the module, after its calls', async () => {
    const cfg = resolveConfig({ dIn: 8, heads: 4, headDim: 2, kvHeads: 2 });
    const log: string[] = [];
    const m = await defineBackend(hooked(log)).createModule(cfg, initWeights(cfg, 1));
    await m.forward(randomTensor([1, 3, 8], 2));
    const pending = m.forward(randomTensor([2, 3, 8], 3));
    const disposed = m.dispose();
    await pending;
    await disposed;
    expect(log.filter((l) => l.startsWith('create'))).toHaveLength(4);
    expect(log.filter((l) => l.startsWith('project 3x'))).toHaveLength(4);
    expect(log.filter((l) => l.startsWith('project 6x'))).toHaveLength(4);
    expect(log.slice(-4).every((l) => l.startsWith('dispose'))).toBe(true);
  });

  it('gives the hook core-owned input, never the caller’s array', async () => {
    const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, kvHeads: 1 });
    const x = randomTensor([1, 3, 4], 5);
    const seen: Float32Array[] = [];
    const def: BackendDefinition = {
      ...plain,
      createProjection: (inW, n, w, b) => ({
        project: (input, rows) => {
          seen.push(input);
          return gemm32(input, rows, inW, w, n, b);
        },
      }),
    };
    const m = await defineBackend(def).createModule(cfg, initWeights(cfg, 1));
    await m.forward(x);
    expect(seen.length).toBe(4);
    expect(seen.some((a) => a === x.data || a.buffer === x.data.buffer)).toBe(false);
  });

  it('checks the projection size and overflow the same way on both paths', async () => {
    const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, kvHeads: 1 });
    const w = initWeights(cfg, 1);
    // A projection of the wrong length: MHA_BACKEND_CONTRACT on field `output`, from the hook or the kernel.
    const shortHook: BackendDefinition = { ...plain, createProjection: () => ({ project: () => new Float32Array(1) }) };
    const shortKernel: BackendDefinition = { ...plain, createKernel: () => ({ forward: () => ({ output: new Float32Array(1) }) }) };
    const x = randomTensor([1, 3, 4], 2);
    for (const def of [shortHook, shortKernel]) {
      const m = await defineBackend(def).createModule(cfg, w);
      await expect(rejects(m.forward(x)), def.name).resolves.toEqual({ code: 'MHA_BACKEND_CONTRACT', field: 'output' });
    }
    // Finite inputs whose output projection leaves the float32 range (4 * 1e38): MHA_OVERFLOW at the same element.
    const huge = { data: new Float32Array(12).fill(1e38), shape: [1, 3, 4] };
    const fill = (a: Float32Array, v: number) => new Float32Array(a.length).fill(v);
    const big = { wq: fill(w.wq, 0.25), wk: fill(w.wk, 0.25), wv: fill(w.wv, 0.25), wo: fill(w.wo!, 1), bo: fill(w.bo!, 0) };
    const results = [];
    for (const def of [plain, hooked([])]) {
      const m = await defineBackend(def).createModule(cfg, big);
      results.push(await rejects(m.forward(huge)));
    }
    expect(results[0]!.code).toBe('MHA_OVERFLOW');
    expect(results[1]).toEqual(results[0]);
  });

  it('refuses a q/k/v projection that left the float32 range (a row of -Infinity scores is not a masked row)', async () => {
    // q = -x * 1e20, k = x * 1e20 ~ -+1e39: every score would be -Infinity, which a kernel reads as fully masked.
    const cfg = resolveConfig({ dIn: 2, heads: 2, headDim: 1, kvHeads: 1, outProj: false });
    const w = { wq: Float32Array.from([-1e20, 0, 0, -1e20]), wk: Float32Array.from([1e20, 1e20]), wv: Float32Array.from([1, 1]) };
    const x = { data: Float32Array.from([1e19, 5e18, 5e18, 1e19]), shape: [1, 2, 2] };
    for (const def of [plain, hooked([])]) {
      const m = await defineBackend(def).createModule(cfg, w);
      const r = await rejects(m.forward(x));
      expect(r.code, def.name).toBe('MHA_OVERFLOW');
      expect(r.field, def.name).toMatch(/^[qk]\[\d+\]$/);
    }
  });
});
