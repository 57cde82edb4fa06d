// Kept apart from the modules that use WebGPU's types, so the public declarations never need @webgpu/types.

/**
 * The part of `navigator.gpu` the backend uses. Structural, so callers (and tests) can pass their own
 * without depending on `@webgpu/types`.
 */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<unknown>;
}
