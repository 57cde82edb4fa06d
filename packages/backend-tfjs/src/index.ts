/**
 * @mha/backend-tfjs: multi-head attention on TensorFlow.js, both contract levels (the MHA module and the
 * attention core op), on tfjs's pure-JS `cpu` backend or its WebAssembly `wasm` backend in Node and
 * browsers, and on `webgl` / `webgpu` in browsers.
 *
 * @packageDocumentation
 */
import { createTfjsBackend, type TfjsBackend } from './backend.js';

export { createTfjsBackend, type TfjsBackend } from './backend.js';
export { TFJS_BACKENDS, resolveTfjsBackendOptions, type TfjsBackendName, type TfjsBackendOptions, type ResolvedTfjsBackendOptions, type AttentionLayout } from './options.js';

/** `tfjs-cpu`: tfjs's pure-JavaScript backend, default options. */
export const tfjsCpu: TfjsBackend = createTfjsBackend({ tfBackend: 'cpu' });

/** `tfjs-wasm`: tfjs's WebAssembly backend (XNNPACK, SIMD when available), default options. */
export const tfjsWasm: TfjsBackend = createTfjsBackend({ tfBackend: 'wasm' });

/** The backends that run in Node, for `mha-conformance --backend @mha/backend-tfjs`. */
export const backends: readonly TfjsBackend[] = [tfjsCpu, tfjsWasm];
