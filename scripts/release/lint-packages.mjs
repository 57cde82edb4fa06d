#!/usr/bin/env node
// `pnpm release:lint`: checks every published package of the workspace as it would be published. For each one:
// the package.json rules (lib/package-rules.mjs), `pnpm pack` and the tarball's contents (lib/tarball.mjs), the
// WebAssembly it ships against its build record, a fresh compile and WebAssembly.validate (lib/wasm.mjs),
// publint (strict) and Are The Types Wrong (profile esm-only: the packages ship ESM only, so CommonJS
// `require` and node10 resolution are out of scope by design). Packages must be built first (`pnpm build`).
// Exit status: 0 when nothing is an error (warnings are printed), 1 otherwise, 2 when the check itself broke.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkManifest } from './lib/package-rules.mjs';
import { run } from './lib/run.mjs';
import { checkPacked, packPackage } from './lib/tarball.mjs';
import { checkPackedWasm } from './lib/wasm.mjs';
import { publishedPackages, workspacePackages } from './lib/workspace.mjs';

/**
 * @typedef {{ name: string, version: string, rel: string, tarball?: string, findings: import('./lib/package-rules.mjs').Finding[] }} PackageLint
 */

/**
 * Lints every published package of the workspace at `root`, packing into `packDir`.
 * @returns {Promise<PackageLint[]>}
 */
export async function lintPackages(root, packDir) {
  const rootJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const all = await workspacePackages(root);
  const versions = new Map(all.map((p) => [p.name, p.version]));
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  return mapLimit(await publishedPackages(root), 2, async (pkg) => {
    const findings = checkManifest(pkg, { rootJson });
    let tarball;
    try {
      const packed = await packPackage(pkg, packDir);
      tarball = packed.tarball;
      findings.push(...checkPacked(packed, versions));
      findings.push(...(await checkPackedWasm(packed, pkg.dir)));
      const [pub, attw] = await Promise.all([
        run(bin('publint'), ['run', tarball, '--strict', '--level', 'suggestion'], { allowFailure: true }),
        run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color'], { allowFailure: true, env: { ...process.env, NO_COLOR: '1' } }),
      ]);
      const pubText = pub.output.replace(/^Running publint.*\n|^Unpacking tarball.*\n|^Linting\.\.\.\n/gm, '').trim();
      if (pub.code !== 0) findings.push({ level: 'error', message: `publint:\n${indent(pubText)}` });
      else if (!/All good!/.test(pubText)) findings.push({ level: 'warning', message: `publint suggests:\n${indent(pubText)}` });
      if (attw.code !== 0) findings.push({ level: 'error', message: `Are The Types Wrong (esm-only):\n${indent(attw.output.trim())}` });
    } catch (e) {
      findings.push({ level: 'error', message: `packing failed: ${e instanceof Error ? e.message : e}` });
    }
    return { name: pkg.name, version: pkg.version, rel: pkg.rel, tarball, findings };
  });
}

/**
 * Formats the lint results, errors first, each with its fix. A warning that every package has is printed once
 * at the end instead of once per package.
 * @param {PackageLint[]} results
 * @param {{ errorsOnly?: boolean }} [opts] only the packages with errors, and only their errors
 */
export function formatLint(results, { errorsOnly = false } = {}) {
  const kinds = (r) => new Set(r.findings.filter((f) => f.level === 'warning' && f.kind).map((f) => f.kind));
  const shared = results.length > 1 ? [...kinds(results[0])].filter((k) => results.every((r) => kinds(r).has(k))) : [];
  const lines = [];
  for (const r of results) {
    const errors = r.findings.filter((f) => f.level === 'error');
    const warnings = r.findings.filter((f) => f.level === 'warning' && !shared.includes(f.kind));
    if (errorsOnly && errors.length === 0) continue;
    const status = errors.length > 0 ? 'FAIL' : 'ok  ';
    lines.push(`${status} ${r.name}@${r.version} (${r.rel})${warnings.length && !errorsOnly ? `  ${warnings.length} warning(s)` : ''}`);
    for (const f of errorsOnly ? errors : [...errors, ...warnings]) {
      lines.push(`     ${f.level}: ${f.message}`);
      if (f.fix) lines.push(`       fix: ${f.fix}`);
    }
  }
  if (!errorsOnly && shared.length > 0) {
    lines.push(`\nwarnings for all ${results.length} packages (shown for ${results[0].name}):`);
    for (const kind of shared) {
      const f = results[0].findings.find((x) => x.kind === kind);
      lines.push(`     warning: ${f.message}`);
      if (f.fix) lines.push(`       fix: ${f.fix}`);
    }
  }
  return lines.join('\n');
}

function indent(text) {
  return text
    .split('\n')
    .map((l) => `         ${l}`)
    .join('\n');
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of the results. */
async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

async function main() {
  const { values } = parseArgs({ options: { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: node scripts/release/lint-packages.mjs [--root <workspace>]   (build first: pnpm build)');
    return 0;
  }
  const root = resolve(values.root ?? join(fileURLToPath(import.meta.url), '..', '..', '..'));
  const packDir = mkdtempSync(join(tmpdir(), 'mha-release-lint-'));
  try {
    const results = await lintPackages(root, packDir);
    console.log(formatLint(results));
    const failed = results.filter((r) => r.findings.some((f) => f.level === 'error'));
    console.log(`\nrelease lint: ${results.length - failed.length} of ${results.length} packages ready to publish${failed.length ? `; not ready: ${failed.map((r) => r.name).join(', ')}` : ''}`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exitCode = 2;
    },
  );
}
