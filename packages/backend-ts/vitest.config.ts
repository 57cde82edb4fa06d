import { defineConfig } from 'vitest/config';

// Worker threads run real JavaScript files, so the threaded mode's tests need `dist` (see the setup).
export default defineConfig({ test: { include: ['src/**/*.test.ts'], globalSetup: ['./src/test-support/build-dist.ts'] } });
