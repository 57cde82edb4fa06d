#!/usr/bin/env node
// The root scripts' way into turbo (`pnpm build`, `pnpm test`, `pnpm conformance`, ...): turbo has no
// repository setting for its telemetry, so this sets TURBO_TELEMETRY_DISABLED=1 (unless the caller chose
// otherwise) and TURBO_NO_UPDATE_NOTIFIER=1, drops the "Remote caching disabled" status line (this
// repository has no remote cache), and with --totals ends with one line summing every package's test
// results: "N passed, N failed, N skipped". Exit status is turbo's (1 if --totals finds no summary).
//
// Usage: node scripts/turbo/run.mjs [--totals] <turbo arguments>
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sumTestSummaries } from './totals.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const totals = args[0] === '--totals';
if (totals) args.shift();

const env = { ...process.env, TURBO_NO_UPDATE_NOTIFIER: '1' };
env.TURBO_TELEMETRY_DISABLED ??= '1';
// Output goes through a pipe; keep colours where the user's terminal has them.
if (process.stdout.isTTY && env.NO_COLOR === undefined) env.FORCE_COLOR ??= '1';

const turboBin = join(dirname(createRequire(join(repo, 'package.json')).resolve('turbo/package.json')), 'bin', 'turbo');
const child = spawn(process.execPath, [turboBin, ...args], { cwd: process.cwd(), env, stdio: ['inherit', 'pipe', 'pipe'] });

const REMOTE_CACHE = /^\s*•\s*Remote caching (disabled|unavailable)\b/;
let log = '';
/** Forwards `stream` line by line to `out`, without the remote-cache status line, keeping the text for --totals. */
function forward(stream, out) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (REMOTE_CACHE.test(line.replace(/\x1b\[[0-9;]*m/g, ''))) continue;
      if (totals) log += `${line}\n`;
      out.write(`${line}\n`);
    }
  });
  stream.on('end', () => {
    if (pending !== '') {
      if (totals) log += pending;
      out.write(pending);
    }
  });
}
forward(child.stdout, process.stdout);
forward(child.stderr, process.stderr);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));

child.on('close', (code, signal) => {
  let status = code ?? (signal ? 1 : 0);
  if (totals) {
    const sum = sumTestSummaries(log);
    if (sum.packages.length === 0) {
      console.log('\nno test summary found in the output: did the tests run?');
      status ||= 1;
    } else {
      console.log(`\nall packages (${sum.packages.length}): ${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped${status === 0 ? '' : ` (turbo exited ${status}: a build, typecheck or test task failed)`}`);
    }
  }
  process.exit(status);
});
