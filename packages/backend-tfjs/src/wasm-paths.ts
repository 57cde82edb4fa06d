import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { defaultNodeWasmDir } from '#wasm-dir';

export { defaultNodeWasmDir } from '#wasm-dir';

/**
 * Points tfjs-wasm at its binaries before its first initialisation: `paths` if given, otherwise in Node
 * the package's own `dist/` (robust to bundling, where tfjs's default `__dirname` lookup breaks).
 * The wasm backend is initialised once per process, so once it is (by this package or anyone else),
 * this does nothing: the first initialisation's binaries are used.
 */
export async function configureWasmPaths(paths: string | Readonly<Record<string, string>> | undefined): Promise<void> {
  if (tf.engine().registry.wasm !== undefined) return;
  if (paths !== undefined) {
    setWasmPaths(paths as string | { [file: string]: string });
    return;
  }
  if (!tf.env().getBool('IS_NODE')) return;
  const dir = await defaultNodeWasmDir();
  if (dir !== undefined) setWasmPaths(dir);
}
