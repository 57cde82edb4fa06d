import { expectedTrace, type KernelForwardResult, type MhaWeights, type ModuleKernel, type ProjectionKernel, type ResolvedMhaConfig, type ValidInput } from '@mha/core';
import { ATTENTION_PARAMS } from './kernels/attention-flash.js';
import { MATMUL_PARAMS } from './kernels/matmul-tiled.js';
import { encodeAttention, encodeMatmul, type AttentionKernelChoice } from './encode.js';
import { SerialQueue, STAGING_USAGE, STORAGE_USAGE, UNIFORM_USAGE, Workspace, type GpuContext } from './gpu-context.js';

/** `[dIn, dOut]` x 3 -> `[dIn, 3 * dOut]` (row r = wq[r] | wk[r] | wv[r]): one matmul projects q, k and v. */
export function packQkv(wq: Float32Array, wk: Float32Array, wv: Float32Array, dIn: number, dOut: number): Float32Array {
  const packed = new Float32Array(dIn * 3 * dOut);
  for (let r = 0; r < dIn; r++) {
    const src = r * dOut;
    const dst = r * 3 * dOut;
    packed.set(wq.subarray(src, src + dOut), dst);
    packed.set(wk.subarray(src, src + dOut), dst + dOut);
    packed.set(wv.subarray(src, src + dOut), dst + 2 * dOut);
  }
  return packed;
}

/** Element strides and offsets with which the attention kernel reads the fused `[B*T, 3*dOut]` buffer. */
export function moduleAttentionParams(config: ResolvedMhaConfig, batch: number, tokens: number) {
  const { heads, headDim, dOut } = config;
  const row = 3 * dOut;
  return {
    rows: batch * heads * tokens,
    q_heads: heads,
    group: 1,
    tq: tokens,
    tk: tokens,
    dk: headDim,
    dv: headDim,
    causal: config.causal ? 1 : 0,
    q_sb: tokens * row,
    q_sh: headDim,
    q_st: row,
    q_off: 0,
    k_sb: tokens * row,
    k_sh: headDim,
    k_st: row,
    k_off: dOut,
    v_sb: tokens * row,
    v_sh: headDim,
    v_st: row,
    v_off: 2 * dOut,
    // The context is written straight into the merged [B*T, dOut] layout: no merge-heads pass.
    o_sb: tokens * dOut,
    o_sh: headDim,
    o_st: dOut,
    m_sb: 0,
    m_sh: 0,
    m_st: 0,
    m_sk: 0,
    scale: config.scale,
    softcap: 0,
  };
}

function upload(ctx: GpuContext, label: string, data: Float32Array): GPUBuffer {
  const buffer = ctx.createBuffer(label, data.byteLength, STORAGE_USAGE);
  ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/**
 * A module on the GPU: weights uploaded once (q/k/v packed side by side), a workspace of activation
 * buffers reused across forwards, three passes per forward (fused QKV matmul, flash attention writing
 * the merged context, output matmul). Forwards of one module run one at a time, in call order.
 */
export async function createModuleKernel(
  ctx: GpuContext,
  config: ResolvedMhaConfig,
  weights: Readonly<MhaWeights>,
  onDispose: () => void,
  choice: AttentionKernelChoice = 'auto',
): Promise<ModuleKernel> {
  const { dIn, dOut, heads, outProj } = config;
  const owned: GPUBuffer[] = [];
  const queue = new SerialQueue();
  const ws = new Workspace(ctx, 'module');
  await ctx.submit('module weights upload', () => {
    owned.push(upload(ctx, 'wqkv', packQkv(weights.wq, weights.wk, weights.wv, dIn, dOut)));
    if (weights.bq && weights.bk && weights.bv) {
      const b = new Float32Array(3 * dOut);
      b.set(weights.bq, 0);
      b.set(weights.bk, dOut);
      b.set(weights.bv, 2 * dOut);
      owned.push(upload(ctx, 'bqkv', b));
    }
    if (outProj && weights.wo) owned.push(upload(ctx, 'wo', weights.wo));
    if (outProj && weights.bo) owned.push(upload(ctx, 'bo', weights.bo));
  });
  const [wqkv, ...rest] = owned;
  const bqkv = weights.bq ? rest.shift() : undefined;
  const wo = outProj ? rest.shift() : undefined;
  const bo = outProj && weights.bo ? rest.shift() : undefined;
  let disposed = false;

  async function run(x: Float32Array, batch: number, tokens: number, returnWeights: boolean): Promise<{ output: Float32Array; weights?: Float32Array }> {
    const rows = batch * tokens;
    const outLen = rows * dOut;
    const wLen = batch * heads * tokens * tokens;
    const stagingLen = outLen + (returnWeights ? wLen : 0);
    let staging: GPUBuffer | undefined;
    await ctx.submit('module forward', (encoder) => {
      const xBuf = ws.get('x', rows * dIn * 4, STORAGE_USAGE);
      const qkv = ws.get('qkv', rows * 3 * dOut * 4, STORAGE_USAGE);
      const context = ws.get('context', outLen * 4, STORAGE_USAGE);
      const out = outProj ? ws.get('out', outLen * 4, STORAGE_USAGE) : context;
      const wBuf = returnWeights ? ws.get('weights', wLen * 4, STORAGE_USAGE) : undefined;
      staging = ws.get('staging', stagingLen * 4, STAGING_USAGE);
      ctx.device.queue.writeBuffer(xBuf, 0, x.buffer, x.byteOffset, x.byteLength);
      encodeMatmul(ctx, encoder, ws.get('u.qkv', MATMUL_PARAMS.byteSize, UNIFORM_USAGE), { m: rows, n: 3 * dOut, k: dIn }, { a: xBuf, b: wqkv!, bias: bqkv, c: qkv });
      encodeAttention(
        ctx,
        encoder,
        ws.get('u.attention', ATTENTION_PARAMS.byteSize, UNIFORM_USAGE),
        { mask: 'none', softcap: false, weights: returnWeights },
        moduleAttentionParams(config, batch, tokens),
        { q: qkv, k: qkv, v: qkv, out: context, weights: wBuf },
        choice,
      );
      if (outProj) encodeMatmul(ctx, encoder, ws.get('u.out', MATMUL_PARAMS.byteSize, UNIFORM_USAGE), { m: rows, n: dOut, k: dOut }, { a: context, b: wo!, bias: bo, c: out });
      encoder.copyBufferToBuffer(out, 0, staging, 0, outLen * 4);
      if (wBuf) encoder.copyBufferToBuffer(wBuf, 0, staging, outLen * 4, wLen * 4);
    });
    const [output, w] = await ctx.read(staging!, returnWeights ? [[0, outLen], [outLen, wLen]] : [[0, outLen]]);
    return w ? { output: output!, weights: w } : { output: output! };
  }

  return {
    forward(input: ValidInput, opts): Promise<KernelForwardResult> {
      // Queued behind earlier forwards, so x is read late: core's private copy (see index.ts).
      const { x, batch, tokens } = input;
      return queue.run(async () => {
        const r = await run(x, batch, tokens, opts.returnAttentionWeights);
        return { output: r.output, attentionWeights: r.weights, trace: opts.trace ? expectedTrace(config, batch, tokens) : undefined };
      });
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue.idle();
      ws.destroy();
      for (const b of owned) ctx.destroyBuffer(b);
      onDispose();
    },
  };
}

/**
 * The backend's native projection `y = x W + b` (core's `createProjection` hook, for lowered module calls):
 * `W` and `b` uploaded once, then per call one pass of the tiled matmul (the module's projection kernel) and
 * a read-back. Calls of one projection run one at a time, in call order (they share its workspace).
 */
export async function createProjection(ctx: GpuContext, inW: number, n: number, w: Float32Array, b: Float32Array | undefined, onDispose: () => void): Promise<ProjectionKernel> {
  const owned: GPUBuffer[] = [];
  const queue = new SerialQueue();
  const ws = new Workspace(ctx, 'projection');
  await ctx.submit('projection weights upload', () => {
    owned.push(upload(ctx, 'w', w));
    if (b) owned.push(upload(ctx, 'b', b));
  });
  const [wBuf, bBuf] = owned;
  let disposed = false;
  return {
    project(x, rows) {
      // Queued behind earlier calls, so x is read late: core's private copy (see index.ts).
      return queue.run(async () => {
        const len = rows * n;
        let staging: GPUBuffer | undefined;
        await ctx.submit('projection', (encoder) => {
          const xBuf = ws.get('x', rows * inW * 4, STORAGE_USAGE);
          const y = ws.get('y', len * 4, STORAGE_USAGE);
          staging = ws.get('staging', len * 4, STAGING_USAGE);
          ctx.device.queue.writeBuffer(xBuf, 0, x.buffer, x.byteOffset, x.byteLength);
          encodeMatmul(ctx, encoder, ws.get('u.projection', MATMUL_PARAMS.byteSize, UNIFORM_USAGE), { m: rows, n, k: inW }, { a: xBuf, b: wBuf!, bias: bBuf, c: y });
          encoder.copyBufferToBuffer(y, 0, staging, 0, len * 4);
        });
        const [output] = await ctx.read(staging!, [[0, len]]);
        return output!;
      });
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue.idle();
      ws.destroy();
      for (const buffer of owned) ctx.destroyBuffer(buffer);
      onDispose();
    },
  };
}
