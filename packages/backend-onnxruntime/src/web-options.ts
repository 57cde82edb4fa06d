import { MhaError, MhaErrorCode } from '@mha/core';
import { FLAVOURS, type OnnxFlavour } from '@mha/onnx';
import type { GraphOptimizationLevel, ResolvedOrtBackendOptions } from './options.js';

/** Where onnxruntime-web finds its WebAssembly: a URL prefix, or the `.wasm` (and `.mjs`) URLs. */
export type OrtWasmPaths = string | { readonly wasm?: string; readonly mjs?: string };

/** Options of {@link createOrtWebBackend}. */
export interface OrtWebBackendOptions {
  /** Which exported graph runs. Default `'attention-op'` (the ONNX `Attention` operator, opset 23). */
  flavour?: OnnxFlavour | undefined;
  /**
   * onnxruntime-web's WebAssembly threads (`env.wasm.numThreads`). Default 1. More than one needs
   * `SharedArrayBuffer`: Node has it, a browser page only when cross-origin isolated (COOP/COEP);
   * elsewhere the backend runs on one thread and `threadsUnavailable` says why.
   */
  threads?: number | undefined;
  /**
   * Where `ort-wasm-simd-threaded.wasm` (and `.mjs`) are served (`env.wasm.wasmPaths`). Default: beside
   * onnxruntime-web's own module (in Node, the installed package). A page that serves them elsewhere
   * sets this, e.g. `'/ort/'`.
   */
  wasmPaths?: OrtWasmPaths | undefined;
  /** onnxruntime's graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel | undefined;
  /** Backend name. Default `ort-web` (attention-op) / `ort-web-decomposed`. */
  name?: string | undefined;
}

/** {@link OrtWebBackendOptions} validated, defaults filled in. */
export interface ResolvedOrtWebBackendOptions extends ResolvedOrtBackendOptions {
  /** Threads asked for. */
  readonly threads: number;
  readonly wasmPaths: OrtWasmPaths | undefined;
}

const KNOWN = ['flavour', 'threads', 'wasmPaths', 'graphOptimizationLevel', 'name'];
const LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

/** Validates ort-web backend options; a bad value raises `MhaError` naming the option. */
export function resolveOrtWebBackendOptions(options: OrtWebBackendOptions = {}): ResolvedOrtWebBackendOptions {
  if (typeof options !== 'object' || options === null) throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${KNOWN.join(', ')}`);
  }
  const { flavour = 'attention-op', threads = 1, graphOptimizationLevel = 'all', wasmPaths } = options;
  if (!FLAVOURS.includes(flavour)) throw new MhaError(MhaErrorCode.InvalidOption, 'options.flavour', flavour, `expected ${FLAVOURS.join(' or ')}`);
  if (!Number.isSafeInteger(threads) || threads < 1) throw new MhaError(MhaErrorCode.InvalidOption, 'options.threads', threads, 'must be a positive integer');
  if (!LEVELS.includes(graphOptimizationLevel)) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.graphOptimizationLevel', graphOptimizationLevel, `expected one of ${LEVELS.join(', ')}`);
  }
  const pathsOk =
    wasmPaths === undefined ||
    (typeof wasmPaths === 'string' && wasmPaths !== '') ||
    (typeof wasmPaths === 'object' && wasmPaths !== null && Object.entries(wasmPaths).every(([k, v]) => (k === 'wasm' || k === 'mjs') && typeof v === 'string' && v !== ''));
  if (!pathsOk) throw new MhaError(MhaErrorCode.InvalidOption, 'options.wasmPaths', wasmPaths, "must be a non-empty URL prefix or { wasm?, mjs? } URLs");
  const name = options.name ?? (flavour === 'attention-op' ? 'ort-web' : `ort-web-${flavour}`);
  if (typeof name !== 'string' || name.length === 0) throw new MhaError(MhaErrorCode.InvalidOption, 'options.name', name, 'must be a non-empty string');
  // The native-only settings: onnxruntime-web's pool belongs to its environment, not to a session.
  return { flavour, threads, wasmPaths, graphOptimizationLevel, name, intraOpNumThreads: 0, intraOpSpinning: false };
}
