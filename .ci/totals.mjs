// Sums the per-package test summaries of a turbo log (see scripts/turbo/totals.mjs) and prints one plain
// line: "N passed, N failed, N skipped". Exits 1 when no package ran a test.
import { readFileSync } from 'node:fs';
import { sumTestSummaries } from '../scripts/turbo/totals.mjs';

const sum = sumTestSummaries(readFileSync(process.argv[2], 'utf8'));
if (sum.packages.length === 0) {
  console.log('0 passed, 0 failed');
  console.error('no vitest summary found in the log: did the tests run?');
  process.exit(1);
}
console.error(`(vitest summaries from ${sum.packages.length} packages: ${sum.packages.join(', ')})`);
console.log(`${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`);
