import { defineConfig } from 'vitest/config';

// onnxruntime-node is a native add-on that misbehaves in worker threads. Timeouts are hang guards only.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], pool: 'forks', testTimeout: 600_000, hookTimeout: 600_000 } });
