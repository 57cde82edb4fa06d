// Deliberately broken core ops for the KV-cache features (issue 14): each bug is one an implementation of
// past/present, nonpad_kv_seqlen, score stages or short masks can have. They wrap the float64 reference
// backend at the public `attention` level (where a backend that does its own cache handling would go
// wrong). Meta-tests: src/meta-kvcache.test.ts.
import { type AttentionMask, type AttentionOptions, type AttentionResult, type MhaBackend, type Tensor } from '@mha/core';
import { referenceBackend } from '../reference-backend.js';

/** The bugs {@link kvCacheBuggyBackend} can inject; `none` passes every call through. */
export const KV_CACHE_BUGS = [
  'none',
  'past-ignored',
  'causal-top-left-with-past',
  'present-new-first',
  'nonpad-ignored',
  'nonpad-causal-top-left',
  'stage-always-softmax',
  'stages-1-2-swapped',
  'short-mask-tail-attends',
  'cache-attended-not-appended',
] as const;

/** One of {@link KV_CACHE_BUGS}. */
export type KvCacheBug = (typeof KV_CACHE_BUGS)[number];

/** What each bug does, as an implementer would describe the mistake. */
export const KV_CACHE_BUG_DESCRIPTIONS: Readonly<Record<KvCacheBug, string>> = {
  none: 'no bug',
  'past-ignored': 'attends only the new keys (the past is not fed to the kernel), but returns the right present',
  'causal-top-left-with-past': 'prepends the past but keeps causal top-left (offset 0) instead of offset = past length',
  'present-new-first': 'present is concat(new, past) instead of concat(past, new)',
  'nonpad-ignored': 'nonpadKvSeqlen is dropped (padding keys attended, offset 0)',
  'nonpad-causal-top-left': 'nonpadKvSeqlen hides the padding keys but causal stays top-left (offset 0 instead of n - Tq)',
  'stage-always-softmax': 'weightsStage is ignored: the softmax probabilities are returned for every stage',
  'stages-1-2-swapped': "the pre-v1.22 ONNX numbering: 'softcapped' returns after the mask and 'masked' before it",
  'cache-attended-not-appended': 'a KvCache is read as the past but the new keys are never appended to it',
  'short-mask-tail-attends': 'a mask shorter than the key axis is padded with "attend" (0 / true) instead of -Infinity',
};

function seqConcat(a: Tensor, b: Tensor): Tensor {
  const [B, H, P, d] = a.shape as [number, number, number, number];
  const T = b.shape[2]!;
  const out = new Float32Array(B * H * (P + T) * d);
  for (let bh = 0; bh < B * H; bh++) {
    out.set(a.data.subarray(bh * P * d, (bh + 1) * P * d), bh * (P + T) * d);
    out.set(b.data.subarray(bh * T * d, (bh + 1) * T * d), bh * (P + T) * d + P * d);
  }
  return { data: out, shape: [B, H, P + T, d] };
}

function padMask(m: AttentionMask, total: number): AttentionMask {
  const last = m.shape[m.shape.length - 1]!;
  if (last === 1 || last >= total) return m;
  const rows = m.data.length / last;
  const data = m.kind === 'bool' ? new Uint8Array(rows * total).fill(1) : new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) data.set(m.data.subarray(r * last, (r + 1) * last), r * total);
  return { kind: m.kind, data, shape: [...m.shape.slice(0, -1), total] };
}

/** A core-op backend with `bug` injected; the module path is the reference's. */
export function kvCacheBuggyBackend(bug: KvCacheBug): MhaBackend {
  const inner = referenceBackend;
  async function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Promise<AttentionResult> {
    const o = { ...options };
    const past = o.pastKey && o.pastValue ? { key: o.pastKey, value: o.pastValue } : undefined;
    switch (bug) {
      case 'past-ignored':
        if (past) {
          delete o.pastKey;
          delete o.pastValue;
          const r = await inner.attention(q, k, v, { ...o, returnWeights: false, weightsStage: undefined, mask: undefined });
          return { output: r.output, presentKey: seqConcat(past.key, k), presentValue: seqConcat(past.value, v) };
        }
        break;
      case 'causal-top-left-with-past':
        if (past && o.causal) {
          delete o.pastKey;
          delete o.pastValue;
          const r = await inner.attention(q, seqConcat(past.key, k), seqConcat(past.value, v), o);
          return { ...r, presentKey: seqConcat(past.key, k), presentValue: seqConcat(past.value, v) };
        }
        break;
      case 'present-new-first':
        if (past) {
          const r = await inner.attention(q, k, v, o);
          return { ...r, presentKey: seqConcat(k, past.key), presentValue: seqConcat(v, past.value) };
        }
        break;
      case 'nonpad-ignored':
        delete o.nonpadKvSeqlen;
        break;
      case 'nonpad-causal-top-left':
        if (o.nonpadKvSeqlen && o.causal && !o.mask) {
          const n = [...o.nonpadKvSeqlen].map(Number);
          const [B, , tq] = q.shape as [number, number, number];
          const tk = k.shape[2]!;
          const data = new Uint8Array(B * tq * tk);
          for (let b = 0; b < B; b++) for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) data[(b * tq + i) * tk + j] = j < n[b]! && j <= i ? 1 : 0;
          delete o.nonpadKvSeqlen;
          return inner.attention(q, k, v, { ...o, causal: false, mask: { kind: 'bool', data, shape: [B, 1, tq, tk] } });
        }
        break;
      case 'stage-always-softmax':
        delete o.weightsStage;
        break;
      case 'stages-1-2-swapped':
        if (o.weightsStage === 'softcapped') o.weightsStage = 'masked';
        else if (o.weightsStage === 'masked') o.weightsStage = 'softcapped';
        break;
      case 'short-mask-tail-attends':
        if (o.mask) o.mask = padMask(o.mask, (past?.key.shape[2] ?? 0) + k.shape[2]!);
        break;
      case 'cache-attended-not-appended':
        if (o.cache) {
          const snap = o.cache.snapshot();
          delete o.cache;
          const r = await inner.attention(q, k, v, { ...o, pastKey: snap.key, pastValue: snap.value });
          return { output: r.output, weights: r.weights };
        }
        break;
      case 'none':
        break;
    }
    return inner.attention(q, k, v, o);
  }
  return { ...inner, name: bug === 'none' ? 'kv-cache-control' : `kv-cache-bug-${bug}`, attention };
}

