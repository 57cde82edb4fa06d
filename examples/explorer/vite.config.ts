import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Cross-origin isolation (COOP/COEP) gives the page SharedArrayBuffer, which ts-threads needs for its
// Web Workers; without it that backend runs on one thread and says why.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  server: { headers: isolation, fs: { allow: [fileURLToPath(new URL('../..', import.meta.url))] } },
  preview: { headers: isolation },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
});
