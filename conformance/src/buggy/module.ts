// Deliberately broken backends for the module features of issue 13 (cross-attention, GQA, masks, causal
// alignment). Core lowers those features onto a backend's core op, so each bug is a core-op mistake that
// only a module-level case with that feature exposes. Meta-tests: src/meta-module.test.ts.
import { deriveBackend, referenceAttentionValid, type MhaBackend, type ValidAttention } from '@mha/core';
import { referenceBackend } from '../reference-backend.js';

/** The bugs {@link moduleBuggyBackend} can inject; `none` is the reference itself. */
export const MODULE_BUGS = ['none', 'gqa-kv-head-modulo', 'mask-ignored', 'causal-always-bottom-right', 'square-keys'] as const;

/** One of {@link MODULE_BUGS}. */
export type ModuleBug = (typeof MODULE_BUGS)[number];

/** What each bug does, as a kernel author would describe the mistake. */
export const MODULE_BUG_DESCRIPTIONS: Readonly<Record<ModuleBug, string>> = {
  none: 'no bug (the float64 reference backend)',
  'gqa-kv-head-modulo': 'query head h reads KV head h % kvHeads (interleaved) instead of floor(h / (heads / kvHeads))',
  'mask-ignored': 'the attention mask is dropped (keys are never masked)',
  'causal-always-bottom-right': 'causal with Tq != Tk is aligned bottom-right (offset Tk - Tq) instead of top-left',
  'square-keys': 'a kernel written for self-attention reads only the first Tq keys when Tk > Tq',
};

function run(a: ValidAttention): { output: Float32Array; weights?: Float32Array } {
  const r = referenceAttentionValid(a);
  return { output: Float32Array.from(r.output), weights: a.returnWeights ? Float32Array.from(r.weights) : undefined };
}

function buggyAttention(bug: ModuleBug, a: ValidAttention): { output: Float32Array; weights?: Float32Array } {
  if (bug === 'gqa-kv-head-modulo' && a.kvHeads !== a.qHeads) {
    const { batch: B, qHeads: Hq, kvHeads: Hkv, tk, dk, dv } = a;
    const k = new Float32Array(B * Hq * tk * dk);
    const v = new Float32Array(B * Hq * tk * dv);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const src = b * Hkv + (h % Hkv);
        k.set(a.k.subarray(src * tk * dk, (src + 1) * tk * dk), (b * Hq + h) * tk * dk);
        v.set(a.v.subarray(src * tk * dv, (src + 1) * tk * dv), (b * Hq + h) * tk * dv);
      }
    }
    return run({ ...a, k, v, kvHeads: Hq });
  }
  if (bug === 'mask-ignored') return run({ ...a, mask: undefined });
  if (bug === 'causal-always-bottom-right' && a.causal && !a.mask && a.tq !== a.tk) {
    const data = new Uint8Array(a.tq * a.tk);
    for (let i = 0; i < a.tq; i++) for (let j = 0; j < a.tk; j++) data[i * a.tk + j] = j <= i + a.tk - a.tq ? 1 : 0;
    return run({ ...a, causal: false, mask: { kind: 'bool', data, shape: [a.tq, a.tk] } });
  }
  if (bug === 'square-keys' && a.tk > a.tq && !a.mask) {
    const data = new Uint8Array(a.tk);
    data.fill(1, 0, a.tq);
    return run({ ...a, mask: { kind: 'bool', data, shape: [1, a.tk] } });
  }
  return run(a);
}

/** The reference backend with one module-feature bug injected into its core op. */
export function moduleBuggyBackend(bug: ModuleBug): MhaBackend {
  return deriveBackend(referenceBackend, { name: `buggy-module-${bug}`, attention: (a) => buggyAttention(bug, a) });
}
