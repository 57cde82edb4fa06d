import type { ShapeTrace } from '@mha/core';
import type { AttentionProblem } from './attention-kernel.js';

/** What a module forward really used, as recorded by the module kernel. */
export interface UsedBuffers {
  readonly batch: number;
  readonly tokens: number;
  readonly heads: number;
  /** Length of the input buffer `x`. */
  readonly input: number;
  /** Length of the fused q|k|v projection buffer. */
  readonly qkv: number;
  /** The attention run over head views of that buffer. */
  readonly attention: AttentionProblem;
  /** Length of the merged-heads buffer. */
  readonly merged: number;
  /** Length of the returned output. */
  readonly output: number;
}

/**
 * The shape trace of a forward, derived from the buffers and loop extents the kernel actually used
 * (a wrong buffer size or head split shows up as a wrong shape). `q`, `k`, `v` and `context` are
 * strided head views, not copies; `scores` and `weights` are the `[B, H, Tq, Tk]` extents the tiled
 * attention iterated, which it never materialises as one buffer.
 */
export function traceOf(u: UsedBuffers): ShapeTrace {
  const { batch: B, tokens: T, heads: H, attention: a } = u;
  const perToken = (len: number) => len / (B * T);
  return [
    { step: 'input', shape: [B, T, perToken(u.input)] },
    { step: 'qkv', shape: [B, T, 3, H, perToken(u.qkv) / (3 * H)] },
    { step: 'q', shape: [a.batch, a.qHeads, a.tq, a.dk] },
    { step: 'k', shape: [a.batch, a.kvHeads, a.tk, a.dk] },
    { step: 'v', shape: [a.batch, a.kvHeads, a.tk, a.dv] },
    { step: 'scores', shape: [a.batch, a.qHeads, a.tq, a.tk] },
    { step: 'weights', shape: [a.batch, a.qHeads, a.tq, a.tk] },
    { step: 'context', shape: [a.batch, a.qHeads, a.tq, a.dv] },
    { step: 'merged', shape: [B, T, perToken(u.merged)] },
    { step: 'output', shape: [B, T, perToken(u.output)] },
  ];
}
