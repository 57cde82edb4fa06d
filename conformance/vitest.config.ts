import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Timeouts are hang guards only (10 minutes): on a loaded machine a correct test may take long.
  test: { include: ['src/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000 },
});
