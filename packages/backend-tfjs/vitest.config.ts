import { defineConfig } from 'vitest/config';

// tfjs keeps one engine per process; vitest's default `forks` pool gives every test file its own.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], pool: 'forks', testTimeout: 120_000, hookTimeout: 120_000 } });
