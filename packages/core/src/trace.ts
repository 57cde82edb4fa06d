import type { ResolvedMhaConfig } from './config.js';

/**
 * The named steps of an MHA forward pass, in order (the shapes the tutorial's fused-QKV layer prints).
 * `qkv` is the logical `[B, T, 3, heads, headDim]` view of the three projections, whether or not a
 * backend fuses them.
 */
export const TRACE_STEPS = ['input', 'qkv', 'q', 'k', 'v', 'scores', 'weights', 'context', 'merged', 'output'] as const;

/** One of {@link TRACE_STEPS}. */
export type TraceStep = (typeof TRACE_STEPS)[number];

/** One recorded step of a forward pass. */
export interface TraceEntry {
  readonly step: TraceStep;
  readonly shape: readonly number[];
}

/** The shapes a forward pass went through, in {@link TRACE_STEPS} order. */
export type ShapeTrace = readonly TraceEntry[];

/**
 * The trace the spec prescribes for input `[B, T, dIn]`. Backends record the shapes of the buffers
 * they really use; the conformance suite compares them with this.
 *
 * @example
 * expectedTrace(resolveConfig({ dIn: 6, dOut: 6, heads: 3 }), 2, 4)[5]; // { step: 'scores', shape: [2, 3, 4, 4] }
 */
export function expectedTrace(config: ResolvedMhaConfig, batch: number, tokens: number): ShapeTrace {
  const { dIn, heads: H, headDim: dh, dOut } = config;
  const perHead = [batch, H, tokens, dh];
  const square = [batch, H, tokens, tokens];
  return [
    { step: 'input', shape: [batch, tokens, dIn] },
    { step: 'qkv', shape: [batch, tokens, 3, H, dh] },
    { step: 'q', shape: perHead },
    { step: 'k', shape: perHead },
    { step: 'v', shape: perHead },
    { step: 'scores', shape: square },
    { step: 'weights', shape: square },
    { step: 'context', shape: perHead },
    { step: 'merged', shape: [batch, tokens, dOut] },
    { step: 'output', shape: [batch, tokens, dOut] },
  ];
}

/** Renders a trace like the fused-QKV layer's prints, one `step: [shape]` per line. */
export function formatTrace(trace: ShapeTrace): string {
  return trace.map((e) => `${e.step}: [${e.shape.join(', ')}]`).join('\n');
}
