import type { MhaConfig } from '@mha/core';

/** A named benchmark input: module config plus input size. */
export interface BenchShape {
  readonly name: string;
  /** One line for the table legend and BENCHMARKS.md. */
  readonly description: string;
  readonly batch: number;
  readonly tokens: number;
  readonly config: MhaConfig;
  /** Only these backends run it by default (others are recorded as skipped with `onlyReason`). */
  readonly only?: readonly string[] | undefined;
  readonly onlyReason?: string | undefined;
  /** Backends skipped by default, with the reason shown in the report. `--force` runs them anyway. */
  readonly skip?: Readonly<Record<string, string>> | undefined;
  /** Measure the onnxruntime wrapper's overhead over a bare session on this shape (it doubles the cell's time). */
  readonly ortOverhead?: boolean | undefined;
}

/**
 * The shapes of issue 8. `book` is the book's running example (overhead-bound: a few hundred FLOPs);
 * `gpt2-layer` is one GPT-2 small attention layer; `long` and `long-16k` stress the T x T part and
 * backend-ts's memory (it must never hold H x T x T when weights are not requested).
 */
export const SHAPES: readonly BenchShape[] = [
  {
    name: 'book',
    ortOverhead: true,
    description: 'B2 T6 dIn3 dOut2 H2, causal, out projection (the book example; overhead-bound)',
    batch: 2,
    tokens: 6,
    config: { dIn: 3, dOut: 2, heads: 2, causal: true },
  },
  {
    name: 'small',
    ortOverhead: true,
    description: 'B1 T128 D128 H4, not causal, out projection',
    batch: 1,
    tokens: 128,
    config: { dIn: 128, dOut: 128, heads: 4 },
  },
  {
    name: 'gpt2-layer',
    ortOverhead: true,
    description: 'B1 T1024 D768 H12, causal, q/k/v and out biases, out projection (one GPT-2 small layer)',
    batch: 1,
    tokens: 1024,
    config: { dIn: 768, dOut: 768, heads: 12, causal: true, qkvBias: true, outProj: true, outProjBias: true },
  },
  {
    name: 'long',
    description: 'B1 T4096 D256 H4, causal, out projection',
    batch: 1,
    tokens: 4096,
    config: { dIn: 256, dOut: 256, heads: 4, causal: true },
    skip: {
      'tfjs-cpu': 'about 25 s per call (19 GFLOP at the < 1 GFLOP/s tfjs-cpu reaches on gpt2-layer), minutes per cell; --force runs it',
    },
  },
  {
    name: 'long-16k',
    description: 'B1 T16384 D256 H4, causal, out projection (backend-ts memory check)',
    batch: 1,
    tokens: 16384,
    config: { dIn: 256, dOut: 256, heads: 4, causal: true },
    only: ['ts'],
    onlyReason: 'by default only ts runs this shape, which checks that backend-ts never holds H x T x T (4 GiB of float32 here); --force runs the others',
  },
];

/** Shape by name, or a usage error listing the known ones. */
export function shapeByName(name: string): BenchShape {
  const s = SHAPES.find((x) => x.name === name);
  if (!s) throw new Error(`unknown shape '${name}'; shapes: ${SHAPES.map((x) => x.name).join(', ')}`);
  return s;
}

/** Why `backend` does not run `shape` by default, or undefined when it does. */
export function defaultSkipReason(shape: BenchShape, backend: string): string | undefined {
  if (shape.only && !shape.only.includes(backend)) return shape.onlyReason ?? `only ${shape.only.join(', ')} run this shape by default`;
  return shape.skip?.[backend];
}
