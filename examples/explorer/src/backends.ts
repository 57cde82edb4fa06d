import { referenceBackend } from '@mha/conformance/browser';
import type { MhaBackend } from '@mha/core';

/** A backend this page can offer, imported only when chosen (tfjs is large). */
export interface BackendChoice {
  readonly id: string;
  readonly label: string;
  load(): Promise<MhaBackend>;
}

export const BACKENDS: readonly BackendChoice[] = [
  { id: 'ts', label: 'ts (pure TypeScript)', load: async () => (await import('@mha/backend-ts')).tsBackend },
  {
    id: 'ts-threads',
    label: 'ts-threads (Web Workers on shared memory)',
    load: async () => (await import('@mha/backend-ts')).tsThreadsBackend,
  },
  { id: 'wasm', label: 'wasm (hand-written WebAssembly SIMD)', load: async () => (await import('@mha/backend-wasm')).wasmBackend },
  {
    id: 'wasm-threads',
    label: 'wasm-threads (WebAssembly SIMD, Web Workers on shared memory)',
    load: async () => (await import('@mha/backend-wasm')).wasmThreadsBackend,
  },
  { id: 'tfjs-cpu', label: 'tfjs-cpu (TensorFlow.js, JavaScript)', load: async () => (await import('@mha/backend-tfjs')).tfjsCpu },
  {
    id: 'tfjs-wasm',
    label: 'tfjs-wasm (TensorFlow.js, WebAssembly)',
    load: async () => {
      const [{ createTfjsBackend }, tf, plain, simd, threaded] = await Promise.all([
        import('@mha/backend-tfjs'),
        import('@tensorflow/tfjs-core'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'),
      ]);
      // tfjs-wasm's threaded build starts its pthreads from the source text of its own factory, which a
      // minifying bundler breaks ("e is not defined" in the workers); the page is cross-origin isolated,
      // so tfjs would pick it. Single-threaded SIMD is used instead.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      // Vite emits the binaries with hashed names; tell tfjs where each one went (it wants all three).
      const wasmPaths = { 'tfjs-backend-wasm.wasm': plain.default, 'tfjs-backend-wasm-simd.wasm': simd.default, 'tfjs-backend-wasm-threaded-simd.wasm': threaded.default };
      return createTfjsBackend({ tfBackend: 'wasm', wasmPaths });
    },
  },
  { id: 'reference', label: 'reference (core, float64)', load: async () => referenceBackend },
];

const loaded = new Map<string, Promise<MhaBackend>>();

/** The backend with this id, loaded once. */
export function getBackend(id: string): Promise<MhaBackend> {
  const choice = BACKENDS.find((b) => b.id === id);
  if (!choice) return Promise.reject(new Error(`unknown backend ${id}`));
  let p = loaded.get(id);
  if (!p) {
    p = choice.load();
    loaded.set(id, p);
    p.catch(() => loaded.delete(id));
  }
  return p;
}
