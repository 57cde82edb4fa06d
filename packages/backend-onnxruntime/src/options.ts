import { MhaError, MhaErrorCode } from '@mha/core';
import { FLAVOURS, type OnnxFlavour } from '@mha/onnx';
import type { InferenceSession } from 'onnxruntime-node';

/** Compile-time proof that {@link OrtSessionOptions} is what onnxruntime accepts. */
type Assignable<T extends InferenceSession.SessionOptions> = T;

/** onnxruntime's graph optimisation levels (`'all'` is onnxruntime's default). */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

const LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

/** Options of {@link createOrtBackend}. */
export interface OrtBackendOptions {
  /** Which exported graph runs: the ONNX `Attention` operator (opset 23) or primitive ops (opset 17). */
  flavour: OnnxFlavour;
  /**
   * Threads onnxruntime uses inside one operator (`intraOpNumThreads`). `0` or unset: onnxruntime
   * picks (one per physical core). `1` gives a fully single-threaded, run-to-run deterministic backend.
   */
  intraOpNumThreads?: number | undefined;
  /** onnxruntime's graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel | undefined;
  /**
   * Let the intra-op pool's idle threads spin-wait for the next parallel section (onnxruntime's own default)
   * instead of sleeping. Default `false`. A spinning worker keeps burning a core after each operator, also
   * while JavaScript runs between calls: on a decode step at gpt2-layer width (5 short runs with core's work
   * in between) the default-thread backend took 1.5-3.3x the CPU time of a single-threaded one with
   * spinning and 1.1-1.2x without, and on a busy machine the spinning worker crowds out the calling thread. No effect at `intraOpNumThreads: 1` (no workers).
   */
  intraOpSpinning?: boolean | undefined;
  /** Backend name. Default `ort-attention-op` / `ort-decomposed`. */
  name?: string | undefined;
}

/** {@link OrtBackendOptions} validated, defaults filled in. */
export interface ResolvedOrtBackendOptions {
  readonly flavour: OnnxFlavour;
  readonly intraOpNumThreads: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  readonly intraOpSpinning: boolean;
  readonly name: string;
}

const KNOWN = ['flavour', 'intraOpNumThreads', 'graphOptimizationLevel', 'intraOpSpinning', 'name'];

/** Validates backend options; a bad value raises `MhaError` naming the option. */
export function resolveOrtBackendOptions(options: OrtBackendOptions): ResolvedOrtBackendOptions {
  if (typeof options !== 'object' || options === null) throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object with a flavour');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, (options as unknown as Record<string, unknown>)[key], `unknown option; expected ${KNOWN.join(', ')}`);
  }
  const { flavour, intraOpNumThreads = 0, graphOptimizationLevel = 'all', intraOpSpinning = false } = options;
  if (!FLAVOURS.includes(flavour)) throw new MhaError(MhaErrorCode.InvalidOption, 'options.flavour', flavour, `expected ${FLAVOURS.join(' or ')}`);
  if (!Number.isSafeInteger(intraOpNumThreads) || intraOpNumThreads < 0) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.intraOpNumThreads', intraOpNumThreads, 'must be a non-negative integer (0 = onnxruntime decides)');
  }
  if (!LEVELS.includes(graphOptimizationLevel)) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.graphOptimizationLevel', graphOptimizationLevel, `expected one of ${LEVELS.join(', ')}`);
  }
  if (typeof intraOpSpinning !== 'boolean') throw new MhaError(MhaErrorCode.InvalidOption, 'options.intraOpSpinning', intraOpSpinning, 'must be a boolean');
  const name = options.name ?? `ort-${flavour}`;
  if (typeof name !== 'string' || name.length === 0) throw new MhaError(MhaErrorCode.InvalidOption, 'options.name', name, 'must be a non-empty string');
  return { flavour, intraOpNumThreads, graphOptimizationLevel, intraOpSpinning, name };
}

/**
 * The onnxruntime session options this package sets, spelled out so the public declarations do not pull in
 * onnxruntime-common's types (which need the DOM lib, an error under `skipLibCheck: false` in a Node
 * project). Assignable to onnxruntime's `InferenceSession.SessionOptions`.
 */
export interface OrtSessionOptions {
  executionProviders: ['cpu'];
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  readonly executionMode: 'sequential';
  readonly logSeverityLevel: 4;
  readonly intraOpNumThreads?: number;
  /** Session config entries: `session.intra_op.allow_spinning`. */
  readonly extra: { readonly session: { readonly intra_op: { readonly allow_spinning: '0' | '1' } } };
}

/** The onnxruntime session options these backend options stand for (CPU execution provider). */
export function sessionOptions(o: ResolvedOrtBackendOptions): OrtSessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.graphOptimizationLevel,
    // One operator runs at a time in these graphs' critical path; parallelism is inside operators.
    executionMode: 'sequential',
    // Failures reach the caller as MhaError (onnxruntime's error as its cause); at the default level
    // onnxruntime would also print them to stderr itself. 4 = fatal messages only.
    logSeverityLevel: 4,
    ...(o.intraOpNumThreads > 0 ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
    // onnxruntime-node flattens this to the config key `session.intra_op.allow_spinning`.
    extra: { session: { intra_op: { allow_spinning: o.intraOpSpinning ? '1' : '0' } } },
  };
}

/** Fails to compile if onnxruntime stops accepting {@link OrtSessionOptions}. */
type SessionOptionsFit = Assignable<OrtSessionOptions>;
