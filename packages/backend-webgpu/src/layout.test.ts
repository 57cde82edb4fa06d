// The kernels address every tensor as off + b*sb + h*sh + t*st + d. These tests check those uniforms
// against the layouts SPEC.md defines, element by element.
import { maskStrides, randomTensor, resolveConfig, validateAttention } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { coreOpParams, maskWords } from './core-op.js';
import { moduleAttentionParams, packQkv } from './module-kernel.js';

describe('module layout', () => {
  const config = resolveConfig({ dIn: 3, heads: 2, headDim: 4 });
  const { dIn, dOut, heads, headDim } = config;

  it('packQkv puts wq | wk | wv side by side in each row', () => {
    const w = (base: number) => Float32Array.from({ length: dIn * dOut }, (_, i) => base + i);
    const packed = packQkv(w(0), w(1000), w(2000), dIn, dOut);
    for (let r = 0; r < dIn; r++) {
      for (let c = 0; c < dOut; c++) {
        expect(packed[r * 3 * dOut + c]).toBe(r * dOut + c);
        expect(packed[r * 3 * dOut + dOut + c]).toBe(1000 + r * dOut + c);
        expect(packed[r * 3 * dOut + 2 * dOut + c]).toBe(2000 + r * dOut + c);
      }
    }
  });

  it("q/k/v strides read head h's columns of the fused projection; the context lands in the merged layout", () => {
    const B = 2;
    const T = 3;
    const p = moduleAttentionParams(config, B, T);
    expect(p.rows).toBe(B * heads * T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < heads; h++) {
        for (let t = 0; t < T; t++) {
          for (let d = 0; d < headDim; d++) {
            const row = (b * T + t) * 3 * dOut;
            const col = h * headDim + d;
            expect(p.q_off + b * p.q_sb + h * p.q_sh + t * p.q_st + d).toBe(row + col);
            expect(p.k_off + b * p.k_sb + h * p.k_sh + t * p.k_st + d).toBe(row + dOut + col);
            expect(p.v_off + b * p.v_sb + h * p.v_sh + t * p.v_st + d).toBe(row + 2 * dOut + col);
            expect(b * p.o_sb + h * p.o_sh + t * p.o_st + d).toBe((b * T + t) * dOut + col);
          }
        }
      }
    }
  });
});

describe('core-op layout', () => {
  it('contiguous [B, H, T, d] strides, query head h reading KV head h / group, mask strides from core', () => {
    const [B, Hq, Hkv, Tq, Tk, dk, dv] = [2, 4, 2, 3, 5, 6, 7];
    const mask = { kind: 'bool' as const, data: new Uint8Array(Hq * Tk).fill(1), shape: [1, Hq, 1, Tk] };
    const a = validateAttention(randomTensor([B, Hq, Tq, dk], 1), randomTensor([B, Hkv, Tk, dk], 2), randomTensor([B, Hkv, Tk, dv], 3), { mask });
    const p = coreOpParams(a);
    expect(p.group).toBe(2);
    expect([p.m_sb, p.m_sh, p.m_st, p.m_sk]).toEqual(maskStrides(mask, [B, Hq, Tq, Tk]));
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < Hq; h++) {
        const kvh = Math.floor(h / p.group);
        expect(b * p.q_sb + h * p.q_sh + 2 * p.q_st + 5).toBe(((b * Hq + h) * Tq + 2) * dk + 5);
        expect(b * p.k_sb + kvh * p.k_sh + 4 * p.k_st + 1).toBe(((b * Hkv + kvh) * Tk + 4) * dk + 1);
        expect(b * p.v_sb + kvh * p.v_sh + 4 * p.v_st + 6).toBe(((b * Hkv + kvh) * Tk + 4) * dv + 6);
        expect(b * p.o_sb + h * p.o_sh + 1 * p.o_st + 3).toBe(((b * Hq + h) * Tq + 1) * dv + 3);
      }
    }
  });

  it('mask words: any nonzero byte attends; additive values keep their float32 bits, -Infinity included', () => {
    expect([...maskWords({ kind: 'bool', data: Uint8Array.from([0, 1, 2, 255]), shape: [2, 2] })]).toEqual([0, 1, 1, 1]);
    const add = Float32Array.from([-Infinity, -3.4028234663852886e38, 0.5, -0]);
    const words = maskWords({ kind: 'additive', data: add, shape: [2, 2] });
    expect(words[0]).toBe(0xff800000);
    expect([...new Float32Array(words.buffer)]).toEqual([...add]);
    expect(Object.is(new Float32Array(words.buffer)[3], -0)).toBe(true);
    // A copy: the caller's mask is never aliased.
    expect(words.buffer).not.toBe(add.buffer);
  });
});
