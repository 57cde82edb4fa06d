import { defineConfig } from 'vitest/config';

// onnxruntime-node is a native add-on that misbehaves in worker threads.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], pool: 'forks', testTimeout: 60_000 } });
