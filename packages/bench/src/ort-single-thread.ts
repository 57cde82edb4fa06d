/**
 * Single-threaded variants of the two onnxruntime backends (`intraOpNumThreads: 1`), benchmarked next
 * to the defaults so onnxruntime can be compared with the single-threaded pure-JS backends core for core.
 * A backend module like any other: `mha-bench --backend <this file>`.
 */
import { createOrtBackend, type OrtBackend } from '@mha/backend-onnxruntime';

/** `ort-attention-op-1t` and `ort-decomposed-1t`. */
export const backends: readonly OrtBackend[] = [
  createOrtBackend({ flavour: 'attention-op', intraOpNumThreads: 1, name: 'ort-attention-op-1t' }),
  createOrtBackend({ flavour: 'decomposed', intraOpNumThreads: 1, name: 'ort-decomposed-1t' }),
];
