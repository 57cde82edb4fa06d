/**
 * `#ort-web` under the `browser` condition: onnxruntime-web's WebAssembly-only build (no WebGPU/WebGL
 * code in the bundle). It fetches `ort-wasm-simd-threaded.wasm` from `env.wasm.wasmPaths`, or else
 * from beside its own module (which bundlers that follow `new URL(..., import.meta.url)` copy).
 */
export { env, InferenceSession, Tensor } from 'onnxruntime-web/wasm';
