// Test the tester for issue 14: each KV-cache bug fails the onnx-peer / kv-cache cases written for it,
// and the unmodified control passes all of them.
import { describe, expect, it } from 'vitest';
import { kvCacheBuggyBackend, KV_CACHE_BUGS, type KvCacheBug } from './buggy/kvcache.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases } from './onnx-peer.js';
import { profileFor } from './profiles.js';
import { buildSuite, runCase } from './suite.js';

const onnxPeer = loadOnnxPeerCases(builtinOnnxPeerDir());
const cases = buildSuite({ fixtures: [], onnxPeer, groups: ['onnx-peer', 'numeric', 'errors'] }).filter((c) => c.group === 'onnx-peer' || c.id.includes('/kv-cache/'));

const P = 'onnx-peer/test_attention_';
/** For each bug, ids (prefixes) that must fail. */
const MUST_FAIL: Readonly<Record<Exclude<KvCacheBug, 'none'>, readonly string[]>> = {
  'past-ignored': [`${P}4d_with_past_and_present`, `${P}3d_gqa_with_past_and_present`, `${P}4d_causal_with_past_and_present`, 'numeric/kv-cache/incremental-equals-full/'],
  'causal-top-left-with-past': [`${P}4d_causal_with_past_and_present`, `${P}4d_with_past_and_present_qk_matmul_bias_4d_mask_causal`, 'numeric/kv-cache/incremental-equals-full/gqa-chunks-5-1-7', 'numeric/kv-cache/weights-stages'],
  'present-new-first': [`${P}4d_with_past_and_present`, `${P}3d_diff_heads_with_past_and_present`, 'numeric/kv-cache/incremental-equals-full/mha-token-by-token'],
  'nonpad-ignored': [`${P}4d_diff_heads_mask4d_padded_kv`, `${P}4d_gqa_causal_nonpad_decode`, 'numeric/kv-cache/nonpad-equals-truncated/causal=false'],
  'nonpad-causal-top-left': [`${P}4d_causal_nonpad_batch_prefill`, `${P}4d_causal_nonpad_continued_prefill`, `${P}4d_gqa_causal_nonpad_decode`, 'numeric/kv-cache/nonpad-equals-truncated/causal=true'],
  'stage-always-softmax': [`${P}4d_with_qk_matmul`, `${P}4d_with_qk_matmul_bias`, `${P}3d_with_past_and_present_qk_matmul_softcap`, 'numeric/kv-cache/weights-stages'],
  'stages-1-2-swapped': [`${P}4d_with_qk_matmul_softcap`, `${P}4d_with_past_and_present_qk_matmul_bias_4d_mask`, 'numeric/kv-cache/weights-stages'],
  'cache-attended-not-appended': ['numeric/kv-cache/cache-equals-full/mha-token-by-token', 'numeric/kv-cache/cache-equals-full/long-decode-300'],
  'short-mask-tail-attends': ['numeric/kv-cache/mask-shorter-than-keys/additive', 'numeric/kv-cache/mask-shorter-than-keys/bool'],
};

async function failingIds(bug: KvCacheBug): Promise<string[]> {
  const backend = kvCacheBuggyBackend(bug);
  const profile = profileFor(backend.name);
  const failing: string[] = [];
  for (const c of cases) if ((await runCase(c, backend, profile)).status === 'fail') failing.push(c.id);
  return failing;
}

describe('the KV-cache cases catch KV-cache bugs', () => {
  it('lists every id the bugs rely on', () => {
    const ids = cases.map((c) => c.id);
    for (const prefixes of Object.values(MUST_FAIL)) for (const p of prefixes) expect(ids.some((id) => id.startsWith(p)), p).toBe(true);
  });

  it('the control passes every onnx-peer and kv-cache case, none skipped', { timeout: 600_000 }, async () => {
    const backend = kvCacheBuggyBackend('none');
    const statuses = await Promise.all(cases.map(async (c) => [c.id, (await runCase(c, backend, profileFor(backend.name))).status] as const));
    expect(statuses.filter(([, s]) => s !== 'pass')).toEqual([]);
  });

  it.each(KV_CACHE_BUGS.filter((b): b is Exclude<KvCacheBug, 'none'> => b !== 'none'))('%s fails the cases for it', { timeout: 600_000 }, async (bug) => {
    const failing = await failingIds(bug);
    for (const p of MUST_FAIL[bug]) expect(failing.some((id) => id.startsWith(p)), `${bug} must fail ${p}`).toBe(true);
  });
});
