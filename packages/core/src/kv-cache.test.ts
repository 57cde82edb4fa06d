import { describe, expect, it } from 'vitest';
import { defineBackend } from './backend.js';
import { randomTensor } from './init.js';
import { createKvCache } from './kv-cache.js';
import { referenceAttentionValid } from './reference/attention.js';
import { errorOf } from './test-helpers.js';

const opts = { batch: 1, kvHeads: 2, capacity: 5, keyDim: 4, valueDim: 3 };
const kv = (n: number, seed: number) => [randomTensor([1, 2, n, 4], seed), randomTensor([1, 2, n, 3], seed + 1)] as const;

describe('KvCache', () => {
  it('appends, truncates, resets; snapshot is the appended rows in order', () => {
    const c = createKvCache(opts);
    const [k1, v1] = kv(2, 1);
    const [k2, v2] = kv(1, 3);
    c.append(k1, v1);
    c.append(k2, v2);
    expect(c.length).toBe(3);
    const s = c.snapshot();
    expect(s.key.shape).toEqual([1, 2, 3, 4]);
    // head 1, row 2 is k2's head-1 row
    expect(Array.from(s.key.data.subarray((1 * 3 + 2) * 4, (1 * 3 + 3) * 4))).toEqual(Array.from(k2.data.subarray(4, 8)));
    expect(Array.from(s.value.data.subarray(0, 6))).toEqual(Array.from(v1.data.subarray(0, 6)));
    c.truncate(2);
    expect(c.length).toBe(2);
    expect(errorOf(() => c.truncate(3))).toEqual({ code: 'MHA_INVALID_OPTION', field: 'length', value: 3 });
    c.reset();
    expect(c.length).toBe(0);
  });

  it('refuses what does not fit or is not finite and stays unchanged', () => {
    const c = createKvCache(opts);
    c.append(...kv(4, 5));
    expect(errorOf(() => c.append(...kv(2, 7)))).toEqual({ code: 'MHA_CACHE_FULL', field: 'k.shape[2]', value: 2 });
    const [k, v] = kv(1, 9);
    k.data[2] = NaN;
    expect(errorOf(() => c.append(k, v))).toMatchObject({ code: 'MHA_NON_FINITE', field: 'k.data[2]' });
    expect(errorOf(() => c.append(randomTensor([1, 3, 1, 4], 1), v))).toEqual({ code: 'MHA_DIM_MISMATCH', field: 'k.shape[1]', value: 3 });
    expect(c.length).toBe(4);
    expect(errorOf(() => createKvCache({ ...opts, capacity: 0 }))).toEqual({ code: 'MHA_INVALID_CONFIG', field: 'cache.capacity', value: 0 });
  });

  it('attention with a cache appends during the call and rolls back when the kernel fails', async () => {
    let fail = false;
    const b = defineBackend({
      name: 'flaky',
      runtimes: ['node'],
      capabilities: ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'],
      createKernel: () => ({ forward: () => ({ output: new Float32Array(0) }) }),
      attention: (a) => {
        if (fail) throw new Error('kernel failed');
        const r = referenceAttentionValid(a);
        return { output: Float32Array.from(r.output) };
      },
    });
    const c = createKvCache(opts);
    const q = randomTensor([1, 2, 1, 4], 11);
    const [k, v] = kv(1, 12);
    const pending = b.attention(q, k, v, { causal: true, cache: c });
    expect(c.length).toBe(1); // appended before the call returned its promise
    await pending;
    fail = true;
    await expect(b.attention(q, k, v, { cache: c })).rejects.toThrow('kernel failed');
    expect(c.length).toBe(1);
  });
});
