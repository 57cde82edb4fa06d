import { defineConfig } from 'vitest/config';

// Worker threads and child processes run the built package, so the setup builds it first. Timeouts are
// hang guards only (a loaded machine must not fail a correct test): no test asserts on time.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], globalSetup: ['./src/test-support/build-dist.ts'], testTimeout: 600_000, hookTimeout: 600_000 } });
