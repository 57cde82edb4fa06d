/**
 * Where the installed `@tensorflow/tfjs-backend-wasm` keeps its binaries, for Node. Reached through the
 * package's `#wasm-dir` import, which resolves to `wasm-dir-web.ts` under the `browser` condition, so a
 * browser bundle never holds `node:module`.
 */
import { createRequire } from 'node:module';

/** The wasm binaries of the installed `@tensorflow/tfjs-backend-wasm`, as a directory path ending in `/`. */
export async function defaultNodeWasmDir(): Promise<string | undefined> {
  const file = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  return file.slice(0, file.length - 'tfjs-backend-wasm.wasm'.length);
}
