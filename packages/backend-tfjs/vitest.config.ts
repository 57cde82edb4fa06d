import { defineConfig } from 'vitest/config';

// tfjs keeps one engine per process; vitest's default `forks` pool gives every test file its own.
// Timeouts are hang guards only (10 minutes): on a loaded machine a correct test may take long.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], pool: 'forks', testTimeout: 600_000, hookTimeout: 600_000 } });
