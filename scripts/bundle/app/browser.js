// Browser entry: publishes the verdict as window.__mhaResult for the runner.
import { run } from './main.js';

// pickBackend finds @mha/backend-wasm (installed here) and prefers it in a browser. esbuild builds
// define MHA_WASM_WORKER_URL (the wasm worker's own entry); Vite finds the worker itself.
run({ expectPicked: 'wasm', wasmHint: true, wasmThreads: { workerUrl: globalThis.MHA_WASM_WORKER_URL } }).then(
  (verdict) => (window.__mhaResult = verdict),
  (error) => (window.__mhaResult = { ok: false, problems: [`the app threw: ${error instanceof Error ? error.stack : String(error)}`] }),
);
