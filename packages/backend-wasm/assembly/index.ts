// The module's exports: kernels take byte pointers into this module's memory, which the JavaScript side
// manages (src/arena.ts) from `heapBase()` up. The stub runtime is linked but never allocates.
export { gemm, packB, packedSize } from './gemm-4x8-f32x4';
export { attention, attentionScratchBytes } from './attention';

/** First byte past the module's static data: where the JavaScript allocator starts. */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 when this build uses relaxed SIMD (fused multiply-add), else 0. */
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
