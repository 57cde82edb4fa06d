import { defineConfig } from 'vitest/config';

// Timeouts are hang guards only (10 minutes): a device-loss test that hung would fail here rather than
// stall CI, and a loaded machine cannot fail a correct test.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000 } });
