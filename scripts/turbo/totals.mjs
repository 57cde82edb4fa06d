// Sums the per-package test summaries of a turbo log: vitest's "Tests  N failed | N passed | N skipped (N)"
// and mha-conformance's "conformance: N passed, N failed, N skipped" (packages whose test is the CLI).
// Used by scripts/turbo/run.mjs --totals (`pnpm test`) and .ci/totals.mjs.

/**
 * @param {string} log turbo's output (colour codes allowed)
 * @returns {{ passed: number, failed: number, skipped: number, packages: string[] }}
 */
export function sumTestSummaries(log) {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const packages = new Set();
  for (const line of log.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    const m = /^(\S+?):test:\s+(?:Tests\s+(.+)\(\d+\)|conformance: (.+))\s*$/.exec(line);
    if (!m) continue;
    packages.add(m[1]);
    for (const part of (m[2] ?? m[3]).split(/[|,]/)) {
      const p = /(\d+)\s+(passed|failed|skipped|todo)/.exec(part);
      if (p && p[2] !== 'todo') totals[p[2]] += Number(p[1]);
    }
  }
  return { ...totals, packages: [...packages].sort() };
}
