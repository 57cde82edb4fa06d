import { defineConfig } from 'vitest/config';

// Worker threads run real JavaScript files, so the threaded mode's tests need `dist` (see the setup).
// Timeouts are hang guards only (10 minutes): on a loaded machine a correct test may take long.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000, globalSetup: ['./src/test-support/build-dist.ts'] } });
