import { defineConfig } from 'vitest/config';

// Timeouts are hang guards only (10 minutes): on a loaded machine a correct test may take long.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000 } });
