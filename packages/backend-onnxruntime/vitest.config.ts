import { defineConfig } from 'vitest/config';

// onnxruntime-node is a native add-on that breaks inside worker threads: run test files in processes.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], pool: 'forks', testTimeout: 60_000 } });
