// Sums the per-package test summaries of a turbo log: vitest's "Tests  N failed | N passed | N skipped (N)"
// and mha-conformance's "conformance: N passed, N failed, N skipped" (packages whose test is the CLI),
// then prints one plain line: "N passed, N failed, N skipped". Exits 1 when no package ran a test.
import { readFileSync } from 'node:fs';

const log = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
const totals = { passed: 0, failed: 0, skipped: 0 };
const packages = new Set();
for (const line of log.split('\n')) {
  const m = /^(\S+?):test:\s+(?:Tests\s+(.+)\(\d+\)|conformance: (.+))\s*$/.exec(line);
  if (!m) continue;
  packages.add(m[1]);
  for (const part of (m[2] ?? m[3]).split(/[|,]/)) {
    const p = /(\d+)\s+(passed|failed|skipped|todo)/.exec(part);
    if (p && p[2] !== 'todo') totals[p[2]] += Number(p[1]);
  }
}
if (packages.size === 0) {
  console.log('0 passed, 0 failed');
  console.error('no vitest summary found in the log: did the tests run?');
  process.exit(1);
}
console.error(`(vitest summaries from ${packages.size} packages: ${[...packages].sort().join(', ')})`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
