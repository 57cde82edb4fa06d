/**
 * `#wasm-dir` under the `browser` condition: a page has no file system to find the binaries in, so there
 * is no default; tfjs then fetches them beside the script unless `wasmPaths` says where they are.
 */

/** Always `undefined` in a browser build: the binaries' URL must come from `wasmPaths`. */
export async function defaultNodeWasmDir(): Promise<string | undefined> {
  return undefined;
}
