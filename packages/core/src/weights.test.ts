import { describe, expect, it } from 'vitest';
import { defineBackend } from './backend.js';
import { resolveConfig } from './config.js';
import { MhaErrorCode } from './errors.js';
import { initWeights, randomTensor } from './init.js';
import { privateCopy } from './tensor.js';
import { validateWeights, type MhaWeights } from './weights.js';
import { errorOf } from './test-helpers.js';

const cfg = resolveConfig({ dIn: 2, heads: 1, headDim: 2 });

/** A backend that records the weights core hands its kernel. */
function recorder() {
  const seen: Readonly<MhaWeights>[] = [];
  const backend = defineBackend({
    name: 'recorder',
    runtimes: ['node'],
    capabilities: [],
    createKernel: (_c, w) => {
      seen.push(w);
      return { forward: (input) => ({ output: new Float32Array(input.batch * input.tokens * 2) }) };
    },
    attention: () => ({ output: new Float32Array(0) }),
  });
  return { backend, seen };
}

describe('weights reach a module as private copies (issue 12 item 8)', () => {
  it('a Float32Array subclass whose Symbol.species hands back the original cannot make the kernel share its memory', async () => {
    const original = initWeights(cfg, 1).wq;
    class Sneaky extends Float32Array {
      static get [Symbol.species]() {
        // What a .slice() copy would construct: a "copy" that is the caller's own array.
        return function () {
          return sneaky;
        } as unknown as Float32ArrayConstructor;
      }
    }
    const sneaky = new Sneaky(original);
    const { backend, seen } = recorder();
    await backend.createModule(cfg, { ...initWeights(cfg, 1), wq: sneaky });
    const kept = seen[0]!.wq;
    expect(kept).not.toBe(sneaky);
    expect(kept.buffer).not.toBe(sneaky.buffer);
    expect(Object.getPrototypeOf(kept)).toBe(Float32Array.prototype);
    sneaky[0] = 1234;
    expect(kept[0]).toBe(original[0]);
  });
  it('validateWeights returns fresh copies, never the caller arrays', () => {
    const w = initWeights(cfg, 1);
    const v = validateWeights(cfg, w);
    for (const k of ['wq', 'wk', 'wv', 'wo', 'bo'] as const) {
      expect(v[k]).not.toBe(w[k]);
      expect(Array.from(v[k]!)).toEqual(Array.from(w[k]!));
    }
  });
});

describe('validateWeights reads real data once, own properties only (items 8, 9)', () => {
  it('a subclass lying about its length is judged by its real length', () => {
    class Liar extends Float32Array {
      override get length() {
        return 4;
      }
    }
    const liar = new Liar(3);
    expect(liar.length).toBe(4);
    expect(errorOf(() => validateWeights(cfg, { ...initWeights(cfg, 1), wk: liar }))).toEqual({ code: MhaErrorCode.WeightShape, field: 'weights.wk', value: 3 });
  });
  it('privateCopy (shared by weights, converters and input copies) copies a liar by its real length, from its real memory', () => {
    class Liar extends Float32Array {
      override get length() {
        return 2;
      }
      override slice(): never {
        throw new Error('slice must not run');
      }
    }
    const liar = new Liar([1, 2, 3]);
    const copy = privateCopy(Float32Array, liar);
    expect([copy.constructor, Array.from(copy), copy.buffer === liar.buffer]).toEqual([Float32Array, [1, 2, 3], false]);
  });
  it('a Proxy of a Float32Array and a Float32Array look-alike are refused with MHA_INVALID_TYPE', () => {
    const proxy = new Proxy(new Float32Array(4), {});
    expect(proxy instanceof Float32Array).toBe(true);
    const e = errorOf(() => validateWeights(cfg, { ...initWeights(cfg, 1), wq: proxy }));
    expect([e.code, e.field, e.value === proxy]).toEqual([MhaErrorCode.InvalidType, 'weights.wq', true]);
    const fake = Object.create(Float32Array.prototype) as Float32Array;
    expect(errorOf(() => validateWeights(cfg, { ...initWeights(cfg, 1), wv: fake }))).toMatchObject({ code: MhaErrorCode.InvalidType, field: 'weights.wv' });
  });
  it('reads each weight once: a getter cannot pass validation and then swap in NaN', () => {
    const good = initWeights(cfg, 1);
    let reads = 0;
    const w = { ...good };
    Object.defineProperty(w, 'wq', {
      enumerable: true,
      get() {
        reads++;
        return reads === 1 ? good.wq : new Float32Array(4).fill(Number.NaN);
      },
    });
    const v = validateWeights(cfg, w);
    expect(reads).toBe(1);
    expect(Array.from(v.wq)).toEqual(Array.from(good.wq));
  });
  it('ignores weights inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.bq = new Float32Array(2);
    proto.wq = new Float32Array(4);
    try {
      const { wq: _wq, ...rest } = initWeights(cfg, 1);
      expect(Object.keys(validateWeights(cfg, initWeights(cfg, 1)))).toEqual(['wq', 'wk', 'wv', 'wo', 'bo']);
      expect(validateWeights(cfg, initWeights(cfg, 1)).bq).toBeUndefined();
      expect(errorOf(() => validateWeights(cfg, rest as MhaWeights))).toEqual({ code: MhaErrorCode.WeightShape, field: 'weights.wq', value: undefined });
    } finally {
      delete proto.bq;
      delete proto.wq;
    }
  });
  it('a module still computes after the copy (the recorder kernel sees the values)', async () => {
    const { backend, seen } = recorder();
    const w = initWeights(cfg, 3);
    const m = await backend.createModule(cfg, w);
    await m.forward(randomTensor([1, 2, 2], 1));
    expect(Array.from(seen[0]!.wo!)).toEqual(Array.from(w.wo!));
  });
});
