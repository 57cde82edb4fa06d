import { defineConfig } from 'vitest/config';

// Timeouts are hang guards only (10 minutes): the CLI smoke test runs real benchmark children, which a
// loaded machine can make slow without making them wrong.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000 } });
