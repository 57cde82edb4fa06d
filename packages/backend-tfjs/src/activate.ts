import { MhaError, MhaErrorCode } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedTfjsBackendOptions, TfjsBackendName } from './options.js';
import { silenceCpuBanner } from './quiet-cpu.js';
import { configureWasmPaths } from './wasm-paths.js';

const INSTALL_HINT: Readonly<Record<TfjsBackendName, string>> = {
  cpu: 'it ships with @tensorflow/tfjs-backend-cpu, a dependency of this package',
  wasm: 'it ships with @tensorflow/tfjs-backend-wasm, a dependency of this package',
  webgl: "browsers only: install @tensorflow/tfjs-backend-webgl and `import '@tensorflow/tfjs-backend-webgl'` before creating a module",
  webgpu: "browsers only: install @tensorflow/tfjs-backend-webgpu and `import '@tensorflow/tfjs-backend-webgpu'` before creating a module",
};

/**
 * Why tfjs-wasm usually fails to start outside Node: its .wasm binaries were not where it fetched them.
 * Names the option that says where they are, and what it was.
 */
function wasmHint(wasmPaths: ResolvedTfjsBackendOptions['wasmPaths']): string {
  const where = wasmPaths === undefined ? 'no wasmPaths was given, so tfjs looked beside the script' : `wasmPaths was ${JSON.stringify(wasmPaths)}`;
  return (
    ` (${where}): the .wasm binaries of @tensorflow/tfjs-backend-wasm/dist must be served, and ` +
    "createTfjsBackend({ tfBackend: 'wasm', wasmPaths: '<URL of their folder, ending in />' }) must point at them"
  );
}

/**
 * Makes `options.tfBackend` tfjs's active backend, initialising it (and, for wasm, its binary paths) on
 * first use. Call only inside {@link exclusive}. Throws `MHA_BACKEND_UNAVAILABLE` when the backend is not
 * registered in this process or fails to initialise.
 */
export async function activate(options: ResolvedTfjsBackendOptions): Promise<void> {
  const name = options.tfBackend;
  if (tf.getBackend() !== name || tf.engine().registry[name] === undefined) {
    if (name === 'wasm') {
      try {
        await configureWasmPaths(options.wasmPaths);
      } catch (e) {
        // tfjs refuses new paths after a failed initialisation of the wasm backend in this process.
        throw new MhaError(MhaErrorCode.BackendUnavailable, 'options.wasmPaths', options.wasmPaths, `cannot configure tfjs-wasm's binaries: ${(e as Error).message}`);
      }
    }
    let ok: boolean;
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      throw new MhaError(MhaErrorCode.BackendUnavailable, 'options.tfBackend', name, `tfjs has no backend '${name}' registered (${INSTALL_HINT[name]}): ${(e as Error).message}`);
    }
    if (!ok) throw new MhaError(MhaErrorCode.BackendUnavailable, 'options.tfBackend', name, `tfjs backend '${name}' failed to initialise in this environment${name === 'wasm' ? wasmHint(options.wasmPaths) : ''}`);
  }
  // An initialisation tfjs started elsewhere (e.g. `tf.memory()` or `tf.ready()` before any backend was
  // set starts the highest-priority one) blocks every backend until it settles.
  await tf.ready();
  if (name === 'cpu') silenceCpuBanner();
}

/**
 * Throws unless `name` is tfjs's active, initialised backend right now. Call synchronously immediately
 * before building tensors: with no `await` in between, nothing can switch the backend until the
 * computation has been issued, so a module can never silently compute on (or move its weights to)
 * another backend. It fails only if code outside this package switches tfjs's backend concurrently.
 */
export function assertActive(name: TfjsBackendName): void {
  let active: tf.KernelBackend | undefined;
  try {
    active = tf.backend();
  } catch {
    active = undefined;
  }
  const expected = tf.engine().registry[name];
  if (tf.getBackend() !== name || active === undefined || active !== expected) {
    throw new MhaError(
      MhaErrorCode.BackendUnavailable,
      'tfjs.backend',
      tf.getBackend(),
      `expected tfjs backend '${name}' to be active; other code switched tfjs's process-wide backend (tf.setBackend) while this call was starting. Await your own tf.setBackend calls before calling this package`,
    );
  }
}
