import { maskStrides, type KernelForwardResult, type MhaWeights, type ModuleKernel, type ResolvedMhaConfig, type ShapeTrace, type ValidAttention, type ValidInput } from '@mha/core';
import type { WasmRuntime } from './runtime.js';

/** Panel width of the packed operands (NR in assembly/gemm-4x8-f32x4.ts). */
const NR = 8;
const MASK_CODES = { bool: 1, additive: 2 } as const;

/** `[B, H, T, d]` head views of a buffer, as the attention kernel reads them (strides in floats). */
interface HeadView {
  readonly ptr: number;
  readonly batch: number;
  readonly head: number;
  readonly row: number;
}

interface AttentionCall {
  readonly batch: number;
  readonly qHeads: number;
  readonly kvHeads: number;
  readonly tq: number;
  readonly tk: number;
  readonly dk: number;
  readonly dv: number;
  readonly q: HeadView;
  readonly k: HeadView;
  readonly v: HeadView;
  readonly out: HeadView;
  readonly scale: number;
  readonly causal: boolean;
  readonly softcap: number;
  readonly mask?: { readonly kind: 'bool' | 'additive'; readonly ptr: number; readonly strides: readonly [number, number, number, number] } | undefined;
  /** Pointer of the `[B, Hq, Tq, Tk]` weights, or 0. */
  readonly weights: number;
}

/** Runs the fused attention kernel; allocates and frees its work memory. */
function runAttention(rt: WasmRuntime, c: AttentionCall): void {
  const work = rt.arena.alloc(rt.kernels.attentionScratchBytes(c.tk, c.dk, c.dv));
  try {
    const m = c.mask;
    rt.kernels.attention(
      c.batch, c.qHeads, c.kvHeads, c.tq, c.tk, c.dk, c.dv,
      c.q.ptr, c.q.batch, c.q.head, c.q.row,
      c.k.ptr, c.k.batch, c.k.head, c.k.row,
      c.v.ptr, c.v.batch, c.v.head, c.v.row,
      c.out.ptr, c.out.batch, c.out.head, c.out.row,
      c.scale, c.causal ? 1 : 0, c.softcap,
      m ? MASK_CODES[m.kind] : 0, m?.ptr ?? 0, ...(m?.strides ?? [0, 0, 0, 0]),
      c.weights, c.qHeads * c.tq * c.tk, c.tq * c.tk, work,
    );
  } finally {
    rt.arena.free(work);
  }
}

/** A weight matrix packed into panels in wasm memory, and its padded bias (0 when absent). */
interface PackedLinear {
  readonly packed: number;
  readonly bias: number;
  readonly inDim: number;
  readonly outDim: number;
}

/**
 * Packs `[inDim, outDim]` made of the column blocks `parts` (each `[inDim, part.length / inDim]`) side by
 * side, e.g. `wq | wk | wv`, plus the concatenated biases padded to whole panels.
 */
function packLinear(rt: WasmRuntime, inDim: number, parts: readonly Float32Array[], biases: readonly Float32Array[] | undefined): PackedLinear {
  const widths = parts.map((p) => p.length / inDim);
  const outDim = widths.reduce((a, b) => a + b, 0);
  const { arena, kernels } = rt;
  const staging = arena.alloc(inDim * outDim * 4);
  let packed = 0;
  let bias = 0;
  try {
    const s = rt.f32(staging, inDim * outDim);
    for (let r = 0; r < inDim; r++) {
      let col = 0;
      parts.forEach((p, n) => {
        s.set(p.subarray(r * widths[n]!, (r + 1) * widths[n]!), r * outDim + col);
        col += widths[n]!;
      });
    }
    packed = arena.alloc(kernels.packedSize(inDim, outDim) * 4);
    kernels.packB(inDim, outDim, staging, outDim, packed);
    if (biases) {
      const padded = Math.ceil(outDim / NR) * NR;
      bias = arena.alloc(padded * 4);
      const b = rt.f32(bias, padded);
      b.fill(0);
      let col = 0;
      for (const part of biases) {
        b.set(part, col);
        col += part.length;
      }
    }
  } catch (e) {
    arena.free(packed);
    arena.free(bias);
    throw e;
  } finally {
    arena.free(staging);
  }
  return { packed, bias, inDim, outDim };
}

function freeLinear(rt: WasmRuntime, l: PackedLinear | undefined): void {
  if (!l) return;
  rt.arena.free(l.packed);
  rt.arena.free(l.bias);
}

/** `c[rows, outDim] = a[rows, inDim] @ W + b`, all pointers in wasm memory. */
function project(rt: WasmRuntime, l: PackedLinear, rows: number, a: number, c: number): void {
  rt.kernels.gemm(rows, l.outDim, l.inDim, a, l.inDim, l.packed, l.bias, c, l.outDim);
}

/**
 * The module kernel: weights packed once into wasm memory (`wq | wk | wv` as one `[dIn, 3*dOut]`
 * operand), then per forward, all synchronously: one GEMM into a `[B*T, 3*dOut]` buffer, the fused
 * attention over strided head views of it, one GEMM for the output projection. Work buffers are
 * O(B*T*dOut) and freed when the forward returns; the input is copied in before anything runs, and the
 * results are copied out into fresh arrays.
 */
export function createModuleKernel(rt: WasmRuntime, config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, onDispose: () => void): ModuleKernel {
  const { dIn, dOut, heads: H, headDim: dh } = config;
  const qkv = packLinear(rt, dIn, [weights.wq, weights.wk, weights.wv], config.qkvBias ? [weights.bq!, weights.bk!, weights.bv!] : undefined);
  let wo: PackedLinear | undefined;
  try {
    wo = config.outProj ? packLinear(rt, dOut, [weights.wo!], config.outProjBias ? [weights.bo!] : undefined) : undefined;
  } catch (e) {
    freeLinear(rt, qkv);
    throw e;
  }
  let live = true;
  return {
    forward(input: ValidInput, opts): KernelForwardResult {
      if (!live) throw new Error('wasm module kernel used after dispose()');
      const { x, batch: B, tokens: T } = input;
      const rows = B * T;
      const { arena } = rt;
      const blocks: number[] = [];
      const alloc = (bytes: number) => {
        const p = arena.alloc(bytes);
        blocks.push(p);
        return p;
      };
      try {
        const xPtr = rt.put(x);
        blocks.push(xPtr);
        const qkvPtr = alloc(rows * 3 * dOut * 4);
        const outPtr = alloc(rows * dOut * 4);
        const mergedPtr = wo ? alloc(rows * dOut * 4) : outPtr;
        const wLen = opts.returnAttentionWeights ? B * H * T * T : 0;
        const wPtr = wLen > 0 ? alloc(wLen * 4) : 0;
        project(rt, qkv, rows, xPtr, qkvPtr);
        const head = (col: number): HeadView => ({ ptr: qkvPtr + col * 4, batch: T * 3 * dOut, head: dh, row: 3 * dOut });
        const attention: AttentionCall = {
          batch: B,
          qHeads: H,
          kvHeads: H,
          tq: T,
          tk: T,
          dk: dh,
          dv: dh,
          q: head(0),
          k: head(dOut),
          v: head(2 * dOut),
          out: { ptr: mergedPtr, batch: T * dOut, head: dh, row: dOut },
          scale: config.scale,
          causal: config.causal,
          softcap: 0,
          weights: wPtr,
        };
        runAttention(rt, attention);
        if (wo) project(rt, wo, rows, mergedPtr, outPtr);
        const output = rt.take(outPtr, rows * dOut);
        const attentionWeights = wLen > 0 ? rt.take(wPtr, wLen) : undefined;
        return { output, attentionWeights, trace: opts.trace ? traceOf(attention, x.length, rows * 3 * dOut, rows * dOut, output.length, B, T) : undefined };
      } finally {
        for (const p of blocks) arena.free(p);
      }
    },
    dispose() {
      if (!live) return;
      live = false;
      freeLinear(rt, qkv);
      freeLinear(rt, wo);
      onDispose();
    },
  };
}

/** The shape trace from the buffer sizes and the attention extents the forward really used. */
function traceOf(a: AttentionCall, input: number, qkv: number, merged: number, output: number, B: number, T: number): ShapeTrace {
  const perToken = (len: number) => len / (B * T);
  return [
    { step: 'input', shape: [B, T, perToken(input)] },
    { step: 'qkv', shape: [B, T, 3, a.qHeads, perToken(qkv) / (3 * a.qHeads)] },
    { step: 'q', shape: [a.batch, a.qHeads, a.tq, a.dk] },
    { step: 'k', shape: [a.batch, a.kvHeads, a.tk, a.dk] },
    { step: 'v', shape: [a.batch, a.kvHeads, a.tk, a.dv] },
    { step: 'scores', shape: [a.batch, a.qHeads, a.tq, a.tk] },
    { step: 'weights', shape: [a.batch, a.qHeads, a.tq, a.tk] },
    { step: 'context', shape: [a.batch, a.qHeads, a.tq, a.dv] },
    { step: 'merged', shape: [B, T, perToken(merged)] },
    { step: 'output', shape: [B, T, perToken(output)] },
  ];
}

/**
 * The core op on validated, non-empty inputs: q/k/v (and the mask) copied into wasm memory, the same
 * fused kernel as the module over contiguous `[B, H, T, d]` tensors, results copied out.
 */
export function coreAttention(rt: WasmRuntime, a: ValidAttention): { output: Float32Array; weights: Float32Array | undefined } {
  const { batch: B, qHeads: Hq, kvHeads: Hkv, tq, tk, dk, dv } = a;
  const blocks: number[] = [];
  const put = (d: Float32Array | Uint8Array) => {
    const p = rt.put(d);
    blocks.push(p);
    return p;
  };
  try {
    const q = put(a.q);
    const k = put(a.k);
    const v = put(a.v);
    const mask = a.mask ? { kind: a.mask.kind, ptr: put(a.mask.data), strides: maskStrides(a.mask, [B, Hq, tq, tk]) } : undefined;
    const outLen = B * Hq * tq * dv;
    const out = rt.arena.alloc(outLen * 4);
    blocks.push(out);
    const wLen = a.returnWeights ? B * Hq * tq * tk : 0;
    const weights = wLen > 0 ? rt.arena.alloc(wLen * 4) : 0;
    blocks.push(weights);
    const contiguous = (ptr: number, heads: number, rows: number, width: number): HeadView => ({ ptr, batch: heads * rows * width, head: rows * width, row: width });
    runAttention(rt, {
      batch: B,
      qHeads: Hq,
      kvHeads: Hkv,
      tq,
      tk,
      dk,
      dv,
      q: contiguous(q, Hq, tq, dk),
      k: contiguous(k, Hkv, tk, dk),
      v: contiguous(v, Hkv, tk, dv),
      out: contiguous(out, Hq, tq, dv),
      scale: a.scale,
      causal: a.causal,
      softcap: a.softcap,
      mask,
      weights,
    });
    return { output: rt.take(out, outLen), weights: wLen > 0 ? rt.take(weights, wLen) : undefined };
  } finally {
    for (const p of blocks) rt.arena.free(p);
  }
}
