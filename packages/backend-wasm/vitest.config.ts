import { defineConfig } from 'vitest/config';

// Hang guards only (a loaded machine must not fail a correct test): no test asserts on time.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000 } });
