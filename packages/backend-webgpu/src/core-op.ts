import { maskStrides, type AttentionMask, type ValidAttention } from '@mha/core';
import { ATTENTION_PARAMS, type AttentionVariant } from './kernels/attention-flash.js';
import { encodeAttention, type AttentionKernelChoice } from './encode.js';
import { STAGING_USAGE, STORAGE_USAGE, UNIFORM_USAGE, type GpuContext, type Workspace } from './gpu-context.js';

/** The variant a core-op call compiles to. */
export function coreOpVariant(a: Pick<ValidAttention, 'mask' | 'softcap' | 'returnWeights'>): AttentionVariant {
  return { mask: a.mask ? a.mask.kind : 'none', softcap: a.softcap > 0, weights: a.returnWeights };
}

/** Uniforms of a core-op call on contiguous `q [B,Hq,Tq,dk]`, `k [B,Hkv,Tk,dk]`, `v [B,Hkv,Tk,dv]`. */
export function coreOpParams(a: Omit<ValidAttention, 'q' | 'k' | 'v'>) {
  const { batch: B, qHeads: Hq, kvHeads: Hkv, tq, tk, dk, dv } = a;
  const ms = a.mask ? maskStrides(a.mask, [B, Hq, tq, tk]) : [0, 0, 0, 0];
  return {
    rows: B * Hq * tq,
    q_heads: Hq,
    group: Hq / Hkv,
    tq,
    tk,
    dk,
    dv,
    causal: a.causal ? 1 : 0,
    q_sb: Hq * tq * dk,
    q_sh: tq * dk,
    q_st: dk,
    q_off: 0,
    k_sb: Hkv * tk * dk,
    k_sh: tk * dk,
    k_st: dk,
    k_off: 0,
    v_sb: Hkv * tk * dv,
    v_sh: tk * dv,
    v_st: dv,
    v_off: 0,
    o_sb: Hq * tq * dv,
    o_sh: tq * dv,
    o_st: dv,
    m_sb: ms[0]!,
    m_sh: ms[1]!,
    m_st: ms[2]!,
    m_sk: ms[3]!,
    scale: a.scale,
    softcap: a.softcap,
  };
}

/**
 * A mask as the kernel reads it, one u32 per element: a bool mask as 0/1 (any nonzero byte attends), an
 * additive mask as its float32 bits (so `-Infinity` is compared by pattern, and every finite value,
 * however large, is added).
 */
export function maskWords(mask: AttentionMask): Uint32Array {
  if (mask.kind === 'bool') {
    const out = new Uint32Array(mask.data.length);
    for (let i = 0; i < out.length; i++) out[i] = mask.data[i] !== 0 ? 1 : 0;
    return out;
  }
  const f = new Float32Array(mask.data.length);
  f.set(mask.data);
  return new Uint32Array(f.buffer);
}

/** Runs one core-op call on the GPU with the buffers of `ws` (one call at a time per workspace). */
export async function runCoreOp(ctx: GpuContext, ws: Workspace, a: ValidAttention, choice: AttentionKernelChoice = 'auto'): Promise<{ output: Float32Array; weights?: Float32Array }> {
  const params = coreOpParams(a);
  const outLen = params.rows * a.dv;
  const wLen = params.rows * a.tk;
  let staging: GPUBuffer | undefined;
  await ctx.submit('attention', (encoder) => {
    const write = (name: string, data: Float32Array | Uint32Array): GPUBuffer => {
      const buffer = ws.get(name, data.byteLength, STORAGE_USAGE);
      if (data.byteLength > 0) ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      return buffer;
    };
    const q = write('q', a.q);
    const k = write('k', a.k);
    const v = write('v', a.v);
    const mask = a.mask ? write('mask', maskWords(a.mask)) : undefined;
    const out = ws.get('out', outLen * 4, STORAGE_USAGE);
    const weights = a.returnWeights ? ws.get('weights', wLen * 4, STORAGE_USAGE) : undefined;
    staging = ws.get('staging', (outLen + (weights ? wLen : 0)) * 4, STAGING_USAGE);
    encodeAttention(ctx, encoder, ws.get('u.attention', ATTENTION_PARAMS.byteSize, UNIFORM_USAGE), coreOpVariant(a), params, { q, k, v, out, mask, weights }, choice);
    encoder.copyBufferToBuffer(out, 0, staging, 0, outLen * 4);
    if (weights) encoder.copyBufferToBuffer(weights, 0, staging, outLen * 4, wLen * 4);
  });
  const [output, weights] = await ctx.read(staging!, a.returnWeights ? [[0, outLen], [outLen, wLen]] : [[0, outLen]]);
  return weights ? { output: output!, weights } : { output: output! };
}
