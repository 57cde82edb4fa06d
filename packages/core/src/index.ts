/**
 * @mha/core: the multi-head attention spec in code. Config, weight layout and converters,
 * validation with stable error codes, the float64 reference, and the backend contract.
 *
 * @packageDocumentation
 */
export { MhaError, MhaErrorCode, isMhaError } from './errors.js';
export { type Tensor, MAX_ELEMENTS, numel, formatShape, tensor, checkShape, readShape, typedArrayKind, typedArrayLength, plainView, privateCopy } from './tensor.js';
export { type MhaConfig, type ResolvedMhaConfig, resolveConfig, configToJSON, isExtendedConfig } from './config.js';
export { type MhaWeights, type WeightName, WEIGHT_NAMES, weightShapes, validateWeights, parameterCount } from './weights.js';
export {
  type TorchLinear,
  type HeadWeights,
  type TorchLayout,
  type StateDictValue,
  type StateDictOptions,
  type TensorLike,
  type NestedNumbers,
  type HeadWeightsLike,
  transpose,
  fromTorchLinear,
  fromPackedQkv,
  fromTorchMultiheadAttention,
  fromTorchStateDict,
  detectLayouts,
  TORCH_LAYOUTS,
  toPerHead,
  fromPerHead,
} from './convert.js';
export { seededRandom, uniformArray, initWeights, randomTensor } from './init.js';
export { TRACE_STEPS, type TraceStep, type TraceEntry, type ShapeTrace, expectedTrace, formatTrace } from './trace.js';
export type { AttentionMask, AttentionOptions, WeightsStage } from './attention-options.js';
export { KvCache, createKvCache, type KvCacheOptions } from './kv-cache.js';
export { createModuleCache } from './kv-cache.js';
export { lowerAttention, scoreStage, concatSequence, causalOffset } from './attention-lowering.js';
export {
  type ForwardOptions,
  type CausalAlign,
  validateMask,
  type ValidInput,
  type ValidAttention,
  type ValidAttentionCall,
  type AttentionDims,
  checkTensor,
  checkFinite,
  firstNonFinite,
  FLOAT32_MAX,
  resolveForwardOptions,
  validateInput,
  validateAttention,
  maskStrides,
} from './validate.js';
export {
  type Runtime,
  type Capability,
  CAPABILITIES,
  type ForwardResult,
  type AttentionResult,
  type MhaModule,
  type MhaBackend,
  type KernelForwardResult,
  type ModuleKernel,
  type ProjectionKernel,
  type BackendDefinition,
  defineBackend,
  deriveBackend,
  requiredCapabilities,
} from './backend.js';
export { referenceForward, referenceAttention, type ReferenceForwardResult } from './reference/forward.js';
export { referenceAttentionValid, type ReferenceAttentionResult } from './reference/attention.js';
export { softmaxInPlace } from './reference/softmax.js';
export { causalVisibleKeys } from './reference/causal-mask.js';
export { splitHeads, mergeHeads } from './reference/split-heads.js';
export { linear64 } from './reference/linear.js';
export { detectRuntime } from './runtime.js';
export { inputTensor, attentionArgs, attentionResult, kernelResult, delegateKernel } from './delegate.js';
export { formatTensor, type FormatTensorOptions } from './format-tensor.js';
export { type ValidModuleCall, validateModuleCall, needsLowering, combinedMask, moduleCausalOffset, moduleTrace, averageHeads } from './module-options.js';
export { fromTorchKeyPaddingMask, fromTorchAttnMask, type TorchMaskLike } from './torch-masks.js';
export { readSafetensors, type SafetensorsTensor, type SafetensorsDtype } from './safetensors.js';
