/**
 * `#ort-web` by default (Node, Deno, Bun): onnxruntime-web's Node build, which loads its WebAssembly
 * from the installed package (no network). Browsers get `ort-web-browser.ts` through the `browser`
 * condition of the package's `imports`.
 */
export { env, InferenceSession, Tensor } from 'onnxruntime-web';
