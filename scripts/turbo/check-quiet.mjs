#!/usr/bin/env node
// First-run noise check (CI): the README's commands on a fresh machine print no notice this repository can
// silence, show progress while they build, and `pnpm test` ends with an overall total.
//  1. `pnpm build` with an empty HOME (no turbo config: its first-run telemetry notice would show) and no
//     TURBO_TELEMETRY_DISABLED / DO_NOT_TRACK / CI in the environment: no telemetry, update or remote-cache notice.
//  2. The build step of `pnpm conformance` (read from package.json) prints one line per package it builds.
//  3. The log of `pnpm test` given as argument ends with "all packages (N): N passed, N failed, N skipped".
// Usage: node scripts/turbo/check-quiet.mjs <log of pnpm test>
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const problems = [];
const home = mkdtempSync(join(tmpdir(), 'mha-fresh-home-'));
// node_modules/.bin first, as `pnpm run` would have it.
const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: `${join(repo, 'node_modules', '.bin')}:${process.env.PATH}` };
for (const k of ['TURBO_TELEMETRY_DISABLED', 'DO_NOT_TRACK', 'CI', 'TURBO_NO_UPDATE_NOTIFIER']) delete env[k];

/** Runs a shell command line from the repository as the README would; returns its combined output. */
function sh(command) {
  const r = spawnSync(command, { cwd: repo, env, shell: true, encoding: 'utf8', timeout: 30 * 60_000 });
  if (r.status !== 0) problems.push(`\`${command}\` exited ${r.status}: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' | ')}`);
  return `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
}

try {
  const build = sh('pnpm build');
  for (const notice of [/telemetry/i, /Remote caching/i, /update available/i]) {
    const line = build.split('\n').find((l) => notice.test(l));
    if (line) problems.push(`pnpm build on a fresh machine prints: ${line.trim()}`);
  }

  const scripts = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).scripts;
  const buildStep = scripts.conformance.split('&&')[0].trim();
  const packages = new Set([...sh(buildStep).matchAll(/^(\S+):build: /gm)].map((m) => m[1]));
  if (packages.size < 5) problems.push(`\`${buildStep}\` (pnpm conformance's build) names ${packages.size} package(s) as it builds: no progress`);

  if (process.argv[2]) {
    const last = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n').pop() ?? '';
    if (!/^all packages \(\d+\): \d+ passed, \d+ failed, \d+ skipped/.test(last)) problems.push(`pnpm test's output ends with "${last}", not an overall total`);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}

for (const p of problems) console.log(`FAIL first-run output: ${p}`);
if (problems.length === 0) console.log('first-run output: no telemetry/update/remote-cache notice, build progress shown, pnpm test ends with a total');
process.exitCode = problems.length === 0 ? 0 : 1;
