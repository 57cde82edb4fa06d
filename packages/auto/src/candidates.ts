import type { MhaBackend, Runtime } from '@mha/core';

/** One backend the picker may use: where it runs, how to load it, and why one would choose it. */
export interface Candidate {
  /** Backend name as it appears in conformance reports. */
  readonly name: string;
  /** The npm package that provides it (must be installed for the candidate to be available). */
  readonly package: string;
  readonly runtimes: readonly Runtime[];
  /** Imports the package and returns the backend; rejects when the package is not installed or cannot load here. */
  load(): Promise<MhaBackend>;
  /** One line: when this is the right choice. */
  readonly why: string;
}

/**
 * Every backend of this repository, best first per runtime (measured speed on CPU; see BENCHMARKS.md).
 * The import specifiers are literal so bundlers can see (and split out) each optional backend.
 */
export const CANDIDATES: readonly Candidate[] = [
  {
    name: 'ort-attention-op',
    package: '@mha/backend-onnxruntime',
    runtimes: ['node'],
    load: async () => (await import('@mha/backend-onnxruntime')).ortAttentionOp,
    why: 'native onnxruntime kernels (ONNX Attention op): the fastest on CPU in Node; needs the native add-on',
  },
  {
    name: 'ts',
    package: '@mha/backend-ts',
    runtimes: ['node', 'browser', 'deno', 'bun', 'edge'],
    load: async () => (await import('@mha/backend-ts')).tsBackend,
    why: 'pure TypeScript, zero dependencies: runs everywhere, including edge workers',
  },
  {
    name: 'tfjs-wasm',
    package: '@mha/backend-tfjs',
    runtimes: ['node', 'browser', 'deno'],
    load: async () => (await import('@mha/backend-tfjs')).tfjsWasm,
    why: 'TensorFlow.js on WebAssembly: when an app already uses tfjs',
  },
  {
    name: 'tfjs-cpu',
    package: '@mha/backend-tfjs',
    runtimes: ['node', 'browser', 'deno', 'bun'],
    load: async () => (await import('@mha/backend-tfjs')).tfjsCpu,
    why: 'TensorFlow.js plain-JS kernels: a fallback, slower than ts',
  },
];
