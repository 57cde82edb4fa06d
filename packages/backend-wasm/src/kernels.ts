import { maskStrides, type KernelForwardResult, type MhaWeights, type ModuleKernel, type ProjectionKernel, type ResolvedMhaConfig, type ShapeTrace, type ValidAttention, type ValidInput } from '@mha/core';
import type { WasmRuntime } from './runtime.js';
import type { KernelCall, ThreadPool } from './thread-pool.js';

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
  /** Pointer of the `[B, Hq, Tq, Tk]` weights, or 0, and its batch and head strides (floats). */
  readonly weights: number;
  readonly wBatch: number;
  readonly wHead: number;
}

/** The argument list of the `attention` export for `c`, with work memory at `work`. */
function attentionArgs(c: AttentionCall, work: number): number[] {
  const m = c.mask;
  return [
    c.batch, c.qHeads, c.kvHeads, c.tq, c.tk, c.dk, c.dv,
    c.q.ptr, c.q.batch, c.q.head, c.q.row,
    c.k.ptr, c.k.batch, c.k.head, c.k.row,
    c.v.ptr, c.v.batch, c.v.head, c.v.row,
    c.out.ptr, c.out.batch, c.out.head, c.out.row,
    c.scale, c.causal ? 1 : 0, c.softcap,
    m ? MASK_CODES[m.kind] : 0, m?.ptr ?? 0, ...(m?.strides ?? [0, 0, 0, 0]),
    c.weights, c.wBatch, c.wHead, work,
  ];
}

/** Runs the fused attention kernel on the calling thread; allocates and frees its work memory. */
function runAttention(rt: WasmRuntime, c: AttentionCall): void {
  const work = rt.arena.alloc(rt.kernels.attentionScratchBytes(c.tk, c.dk, c.dv, c.weights === 0 ? 0 : 1, c.tq));
  try {
    rt.kernels.attention(...attentionArgs(c, work));
  } finally {
    rt.arena.free(work);
  }
}

/**
 * `c` split into at most `parts` independent calls over ranges of KV heads (with their query heads), or
 * of batch rows when there are fewer KV heads than parts. Each range is computed by exactly the same
 * operations as in the whole call, so any split gives bit-identical results.
 */
export function splitAttention(c: AttentionCall, parts: number): AttentionCall[] {
  const byHeads = c.kvHeads >= Math.min(parts, c.batch);
  const units = byHeads ? c.kvHeads : c.batch;
  const n = Math.max(1, Math.min(parts, units));
  if (n === 1) return [c];
  const group = c.qHeads / c.kvHeads;
  const maskBytes = c.mask?.kind === 'bool' ? 1 : 4;
  const out: AttentionCall[] = [];
  for (let p = 0; p < n; p++) {
    const u0 = Math.floor((p * units) / n);
    const u1 = Math.floor(((p + 1) * units) / n);
    if (u1 === u0) continue;
    // Offsets of the range's first KV head (byHeads) or first batch row, in each operand.
    const at = (v: HeadView, kv: boolean): HeadView => ({ ...v, ptr: v.ptr + 4 * (byHeads ? u0 * (kv ? 1 : group) * v.head : u0 * v.batch) });
    const ms = c.mask?.strides;
    out.push({
      ...c,
      batch: byHeads ? c.batch : u1 - u0,
      qHeads: byHeads ? (u1 - u0) * group : c.qHeads,
      kvHeads: byHeads ? u1 - u0 : c.kvHeads,
      q: at(c.q, false),
      k: at(c.k, true),
      v: at(c.v, true),
      out: at(c.out, false),
      mask: c.mask && ms ? { ...c.mask, ptr: c.mask.ptr + maskBytes * (byHeads ? u0 * group * ms[1] : u0 * ms[0]) } : undefined,
      weights: c.weights === 0 ? 0 : c.weights + 4 * (byHeads ? u0 * group * c.wHead : u0 * c.wBatch),
    });
  }
  return out;
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

/** The GEMM `c = a @ W + b` over `rows` split into at most `parts` calls on row ranges (multiples of 4). */
function projectCalls(l: PackedLinear, rows: number, a: number, c: number, parts: number): KernelCall[] {
  const quads = Math.ceil(rows / 4);
  const n = Math.max(1, Math.min(parts, quads));
  const calls: KernelCall[] = [];
  for (let p = 0; p < n; p++) {
    const r0 = Math.min(rows, 4 * Math.floor((p * quads) / n));
    const r1 = Math.min(rows, 4 * Math.floor(((p + 1) * quads) / n));
    if (r1 > r0) calls.push({ fn: 'gemm', args: [r1 - r0, l.outDim, l.inDim, a + r0 * l.inDim * 4, l.inDim, l.packed, l.bias, c + r0 * l.outDim * 4, l.outDim] });
  }
  return calls;
}

/** How a threaded module kernel shares work. */
export interface Threading {
  readonly pool: ThreadPool;
  /** Least multiply-adds per thread before a phase is split. */
  readonly minWorkPerThread: number;
}

/**
 * The module kernel: weights packed once into wasm memory (`wq | wk | wv` as one `[dIn, 3*dOut]`
 * operand), then per forward, all synchronously: one GEMM into a `[B*T, 3*dOut]` buffer, the fused
 * attention over strided head views of it, one GEMM for the output projection. Work buffers are
 * O(B*T*dOut) and freed when the forward returns; the input is copied in before anything runs, and the
 * results are copied out into fresh arrays.
 */
export function createModuleKernel(rt: WasmRuntime, config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, onDispose: () => void, threading?: Threading): ModuleKernel {
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
    forward(input: ValidInput, opts): KernelForwardResult | Promise<KernelForwardResult> {
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
      const release = () => {
        for (const p of blocks) arena.free(p);
      };
      let threaded = false;
      try {
        // The input is copied in before anything else: it is read during the call, never later.
        const xPtr = rt.put(x);
        blocks.push(xPtr);
        const qkvPtr = alloc(rows * 3 * dOut * 4);
        const outPtr = alloc(rows * dOut * 4);
        const mergedPtr = wo ? alloc(rows * dOut * 4) : outPtr;
        const wLen = opts.returnAttentionWeights ? B * H * T * T : 0;
        const wPtr = wLen > 0 ? alloc(wLen * 4) : 0;
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
          wBatch: H * T * T,
          wHead: T * T,
        };
        const finish = (): KernelForwardResult => {
          const output = rt.take(outPtr, rows * dOut);
          const attentionWeights = wLen > 0 ? rt.take(wPtr, wLen) : undefined;
          return { output, attentionWeights, trace: opts.trace ? traceOf(attention, x.length, rows * 3 * dOut, rows * dOut, output.length, B, T) : undefined };
        };
        if (threading === undefined) {
          project(rt, qkv, rows, xPtr, qkvPtr);
          runAttention(rt, attention);
          if (wo) project(rt, wo, rows, mergedPtr, outPtr);
          return finish();
        }
        threaded = true;
        return threadedForward(rt, threading, { qkv, wo, rows, xPtr, qkvPtr, mergedPtr, outPtr, attention }).then(finish).finally(release);
      } finally {
        if (!threaded) release();
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

/**
 * The backend's native projection `y = x W + b` (core's `createProjection` hook, for lowered module calls):
 * `W` packed once into wasm memory, then per call the same SIMD GEMM as the module kernel's projections
 * (split over the pool's threads by rows when there is enough work). The input is copied in before the
 * call returns or awaits; the result is copied out into a fresh array.
 */
export function createProjection(rt: WasmRuntime, inW: number, n: number, w: Float32Array, b: Float32Array | undefined, onDispose: () => void, threading?: Threading): ProjectionKernel {
  const l = packLinear(rt, inW, [w], b ? [b] : undefined);
  let live = true;
  return {
    project(x, rows) {
      if (!live) throw new Error('wasm projection used after dispose()');
      const blocks: number[] = [];
      const release = () => {
        for (const p of blocks) rt.arena.free(p);
      };
      let threaded = false;
      try {
        const xPtr = rt.put(x);
        blocks.push(xPtr);
        const out = rt.arena.alloc(rows * n * 4);
        blocks.push(out);
        const parts = threading ? Math.max(1, Math.min(threading.pool.size, Math.floor((rows * inW * n) / Math.max(1, threading.minWorkPerThread)))) : 1;
        if (threading === undefined || parts === 1) {
          project(rt, l, rows, xPtr, out);
          return rt.take(out, rows * n);
        }
        threaded = true;
        return threading.pool
          .run(projectCalls(l, rows, xPtr, out, parts))
          .then(() => rt.take(out, rows * n))
          .finally(release);
      } finally {
        if (!threaded) release();
      }
    },
    dispose() {
      if (!live) return;
      live = false;
      freeLinear(rt, l);
      onDispose();
    },
  };
}

/**
 * The three phases of a forward, each split over the pool's threads when it has enough work: rows of the
 * projections, KV heads (or batch rows) of the attention. Every output element is computed by the same
 * operations whatever the split, so results are bit-identical to the single-threaded kernel of the same
 * build. The threads build is plain SIMD, so they equal the `simd` build's results.
 */
async function threadedForward(
  rt: WasmRuntime,
  t: Threading,
  f: { qkv: PackedLinear; wo: PackedLinear | undefined; rows: number; xPtr: number; qkvPtr: number; mergedPtr: number; outPtr: number; attention: AttentionCall },
): Promise<void> {
  const parts = (work: number) => Math.max(1, Math.min(t.pool.size, Math.floor(work / Math.max(1, t.minWorkPerThread))));
  await t.pool.run(projectCalls(f.qkv, f.rows, f.xPtr, f.qkvPtr, parts(f.rows * f.qkv.inDim * f.qkv.outDim)));
  const a = f.attention;
  const keys = a.causal ? (a.tk + 1) / 2 : a.tk;
  const pieces = splitAttention(a, parts(a.batch * a.qHeads * a.tq * keys * (a.dk + a.dv)));
  const works = pieces.map(() => rt.arena.alloc(rt.kernels.attentionScratchBytes(a.tk, a.dk, a.dv, a.weights === 0 ? 0 : 1, a.tq)));
  try {
    await t.pool.run(pieces.map((c, i) => ({ fn: 'attention', args: attentionArgs(c, works[i]!) })));
  } finally {
    for (const w of works) rt.arena.free(w);
  }
  if (f.wo) await t.pool.run(projectCalls(f.wo, f.rows, f.mergedPtr, f.outPtr, parts(f.rows * f.wo.inDim * f.wo.outDim)));
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
 * fused kernel as the module over contiguous `[B, H, T, d]` tensors, results copied out. A module cache's
 * storage (`kvRowsPerHead` > tk) is read in place: its first `tk` rows per head are copied straight in.
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
    // A module cache read in place holds kvRowsPerHead rows per head: only the first tk are copied in.
    const rowsPerHead = a.kvRowsPerHead ?? tk;
    const putRows = (d: Float32Array, width: number) => {
      if (rowsPerHead === tk) return put(d);
      const p = rt.arena.alloc(B * Hkv * tk * width * 4);
      blocks.push(p);
      const dst = rt.f32(p, B * Hkv * tk * width);
      for (let bh = 0; bh < B * Hkv; bh++) dst.set(d.subarray(bh * rowsPerHead * width, (bh * rowsPerHead + tk) * width), bh * tk * width);
      return p;
    };
    const k = putRows(a.k, dk);
    const v = putRows(a.v, dv);
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
      wBatch: Hq * tq * tk,
      wHead: tq * tk,
    });
    return { output: rt.take(out, outLen), weights: wLen > 0 ? rt.take(weights, wLen) : undefined };
  } finally {
    for (const p of blocks) rt.arena.free(p);
  }
}
