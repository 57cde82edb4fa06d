import { defineConfig } from 'vitest/config';

// onnxruntime-node is a native add-on that breaks inside worker threads: run test files in processes.
// Timeouts are hang guards only (10 minutes): on a loaded machine a correct test may take long.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], pool: 'forks', testTimeout: 600_000, hookTimeout: 600_000 } });
