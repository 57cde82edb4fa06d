import type { Capability, MhaBackend } from '@mha/core';
import type { Comparison, Tolerance } from './compare.js';

/** The groups of the suite, in report order. */
export const GROUPS = ['shapes', 'causal-mask', 'head-split', 'numeric', 'properties', 'onnx-peer', 'lifecycle', 'errors'] as const;

/** A group name. */
export type Group = (typeof GROUPS)[number];

/** What a case can use while it runs. */
export interface CaseContext {
  readonly backend: MhaBackend;
  readonly tolerance: Tolerance;
  /** Records a comparison so the report can show the max error seen vs the oracle. */
  measure(what: string, c: Comparison): void;
}

/**
 * One conformance case. `id` is stable (`group/name/param=value,...`) so expectations files and
 * reports can refer to it; `spec` names the SPEC.md section it checks.
 */
export interface ConformanceCase {
  readonly id: string;
  readonly group: Group;
  readonly spec: string;
  readonly title: string;
  /** Capabilities the case needs; missing ones make it a declared skip. */
  readonly needs?: readonly Capability[];
  /** A reason to skip this case for a given backend, decided before it runs (undefined = run it). */
  skipFor?(backend: MhaBackend): string | undefined;
  run(ctx: CaseContext): Promise<void>;
}

/** Thrown by a case to fail with a structured message (the worst element, expected vs actual). */
export class ConformanceFailure extends Error {
  override readonly name = 'ConformanceFailure';
  constructor(
    message: string,
    readonly detail?: Comparison | undefined,
  ) {
    super(message);
  }
}

/** Fails unless the comparison passed; records it either way. */
export function expectClose(ctx: CaseContext, what: string, c: Comparison): void {
  ctx.measure(what, c);
  if (!c.ok) throw new ConformanceFailure(`${what}: ${c.message ?? 'mismatch'}`, c);
}

/** Fails with `message` unless `cond`. */
export function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new ConformanceFailure(message);
}
