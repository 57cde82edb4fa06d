/**
 * @mha/backend-onnxruntime: multi-head attention on onnxruntime-node, running the graphs exported by
 * `@mha/onnx` (the ONNX `Attention` operator, or the decomposed primitive-op graph).
 *
 * @packageDocumentation
 */
import { createOrtBackend, type OrtBackend } from './backend.js';

export { createOrtBackend, type OrtBackend } from './backend.js';
export { resolveOrtBackendOptions, sessionOptions, type OrtBackendOptions, type ResolvedOrtBackendOptions, type GraphOptimizationLevel, type OrtSessionOptions } from './options.js';

/** `ort-attention-op`: the module around the ONNX `Attention` operator (opset 23), onnxruntime defaults. */
export const ortAttentionOp: OrtBackend = createOrtBackend({ flavour: 'attention-op' });

/** `ort-decomposed`: the module from primitive ops (opset 17), onnxruntime defaults. */
export const ortDecomposed: OrtBackend = createOrtBackend({ flavour: 'decomposed' });

/** Both backends, for `mha-conformance --backend @mha/backend-onnxruntime`. */
export const backends: readonly OrtBackend[] = [ortAttentionOp, ortDecomposed];
