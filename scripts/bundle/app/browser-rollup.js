// Rollup browser entry: Rollup has no `define`, so this sets the wasm worker's URL (its own entry point
// beside the bundle, as with esbuild) before the browser entry reads it.
globalThis.MHA_WASM_WORKER_URL = './wasm-worker-web.js';
await import('./browser.js');
