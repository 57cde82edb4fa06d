import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/** The wasm binaries of the installed `@tensorflow/tfjs-backend-wasm`, as a directory path ending in `/`. */
export async function defaultNodeWasmDir(): Promise<string> {
  // Loaded lazily and hidden from bundlers: browser builds must not pull in node:module.
  const { createRequire } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:module')) as { createRequire: (from: string) => NodeJS.Require };
  const file = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  return file.slice(0, file.length - 'tfjs-backend-wasm.wasm'.length);
}

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
  if (tf.env().getBool('IS_NODE')) setWasmPaths(await defaultNodeWasmDir());
}
