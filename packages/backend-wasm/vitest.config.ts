import { defineConfig } from 'vitest/config';

// Worker threads and child processes run the built package, so the setup builds it first (skipped in
// the child vitest run of relaxed-simd.test.ts, MHA_WASM_BUILT=1, which runs on the parent's build).
// Timeouts are hang guards only (a loaded machine must not fail a correct test): no test asserts on time.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: process.env.MHA_WASM_BUILT === '1' ? [] : ['./src/test-support/build-dist.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
