/**
 * @mha/onnx: export a multi-head attention module (or the attention core op alone) as a standard
 * ONNX model, in two flavours (the ONNX `Attention` operator at opset 23, or primitive ops at
 * opset 13..17), and read ONNX models and tensors back.
 *
 * @packageDocumentation
 */
export { exportOnnx, resolveExportOptions, FLAVOURS, OPSETS, type OnnxFlavour, type ExportOptions, type ResolvedExportOptions } from './export.js';
export { exportAttentionOp, resolveAttentionOpOptions, type AttentionOpExportOptions, type ResolvedAttentionOpOptions, type MaskSpec } from './core-op.js';
export { MODULE_NAMES, TRACE_OUTPUTS, CORE_OP_NAMES } from './names.js';
export {
  readModel,
  readTensorProto,
  tensorFromProto,
  type OnnxModel,
  type OnnxGraph,
  type OnnxNode,
  type OnnxValueInfo,
  type OnnxAttribute,
  type OnnxTensor,
  type OnnxElementType,
} from './read.js';
export { writeTensorProto, type TensorToWrite } from './write.js';
export { halfToFloat, halfBitsToFloat32 } from './float16.js';
export { DataType } from './data-type.js';
export { exportLinear, LINEAR_NAMES } from './linear.js';
