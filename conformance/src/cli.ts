#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, release, tmpdir, type as osType } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GROUPS, type Group } from './case.js';
import { loadModuleFixtures } from './module-fixture-files.js';
import { builtinFixturesDir, loadFixtureDir, readRegularFile } from './fixture-files.js';
import { isRepoBackendPath, loadBackends, ownRepoRoot, repoBackendModules, resolveModule } from './load-backend.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases } from './onnx-peer.js';
import { parseProfile, parseTolerance, PROFILES, type BackendProfile } from './profiles.js';
import { formatHtmlReport } from './html-report.js';
import { formatDetails, formatTable, parseReportJSON, printable, reportToJSON, totalsLine } from './report.js';
import { buildSuite, runSuite, type BackendReport } from './suite.js';

const USAGE = `mha-conformance: run the MHA conformance suite against a backend

  mha-conformance --backend <package or path> [--backend ...] [options]
  mha-conformance --repo            every backend package of this repository

options:
  --backend <spec>    a package name (resolved from the current directory), a path to a module
                      exporting an MhaBackend (or 'backends', or a default export), or a package
                      directory (its mhaConformance.module, exports or main); repeatable
  --repo              run every backend package of this repository (package.json 'mhaConformance.module'),
                      each in its own process
  --fixtures <dir>    extra golden cases in the mha-fixture/1 format, added to the built-in ones; repeatable
  --tolerance a,r     compare with atol a and rtol r (e.g. 1e-5,1e-4) instead of the profile's
  --profile <file>    a JSON profile: {"tolerance": {"atol", "rtol"}, "expectations": {"<test id>": "reason"}};
                      this repository's own profiles (src/profiles.ts) apply only to backends loaded
                      from this repository's packages/, never to a third-party backend of the same name
  --max-failures <n>  stop a backend's run after n failed cases
  --bail              stop at the first failure (--max-failures 1, and no further backends)
  --group <name>      only this group (${GROUPS.join(', ')}); repeatable
  --filter <text>     only test ids containing <text>
  --json <file>       write the full report as JSON
  --markdown <file>   write the table and details as Markdown
  --html <file>       write a self-contained HTML report (coloured table, failures with error heatmaps)
  --list              print the test ids and exit
  -h, --help          this text

exit status: 0 when nothing failed, 1 when a case failed, 2 on a usage or loading error`;

interface Args {
  backend: string[];
  repo: boolean;
  fixtures: string[];
  tolerance?: string | undefined;
  profile?: string | undefined;
  'max-failures'?: string | undefined;
  bail: boolean;
  group: string[];
  filter?: string | undefined;
  json?: string | undefined;
  markdown?: string | undefined;
  html?: string | undefined;
  list: boolean;
  help: boolean;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', multiple: true, default: [] },
      repo: { type: 'boolean', default: false },
      fixtures: { type: 'string', multiple: true, default: [] },
      tolerance: { type: 'string' },
      profile: { type: 'string' },
      'max-failures': { type: 'string' },
      bail: { type: 'boolean', default: false },
      group: { type: 'string', multiple: true, default: [] },
      filter: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      html: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  return values as Args;
}

function progress(label: string): (r: { id: string }, done: number, total: number) => void {
  if (!process.stderr.isTTY) return () => {};
  return (r, done, total) => {
    const text = printable(`${label} ${done}/${total} ${r.id}`);
    process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 100) - 1)}`);
    if (done === total) process.stderr.write('\r\x1b[2K');
  };
}

/** Runs each backend module in a child process so a crash or global state in one cannot affect another. */
async function runIsolated(spec: string, args: Args): Promise<BackendReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mha-conformance-'));
  const out = join(dir, 'report.json');
  const childArgs = [fileURLToPath(import.meta.url), '--backend', spec, '--json', out];
  for (const f of args.fixtures) childArgs.push('--fixtures', f);
  if (args.tolerance) childArgs.push('--tolerance', args.tolerance);
  if (args.profile) childArgs.push('--profile', args.profile);
  if (args['max-failures']) childArgs.push('--max-failures', args['max-failures']);
  if (args.bail) childArgs.push('--bail');
  for (const g of args.group) childArgs.push('--group', g);
  if (args.filter) childArgs.push('--filter', args.filter);
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, MHA_CONFORMANCE_CHILD: '1' } });
      child.on('exit', (c) => resolve(c));
    });
    if (!existsSync(out)) throw new Error(`${spec}: the conformance run exited with ${code} and wrote no report`);
    return parseReportJSON(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--max-failures` / `--bail` as a number, or undefined for no limit. */
function maxFailures(args: Args): number | undefined {
  if (args.bail) return 1;
  const raw = args['max-failures'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--max-failures: expected a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

class UsageError extends Error {}

/** The caller's overrides: --profile first, then --tolerance on top. */
function overrides(args: Args): Partial<BackendProfile> | undefined {
  let profile: Partial<BackendProfile> | undefined;
  if (args.profile) {
    let json: unknown;
    try {
      json = JSON.parse(readRegularFile(args.profile, 16 * 1024 * 1024));
    } catch (e) {
      throw new UsageError(`--profile ${args.profile}: ${e instanceof SyntaxError ? 'not valid JSON' : (e as Error).message}`);
    }
    try {
      profile = parseProfile(json, args.profile);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (args.tolerance) {
    try {
      profile = { ...profile, tolerance: parseTolerance(args.tolerance.split(','), '--tolerance') };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return profile;
}

/**
 * The `$schema` of a `--json` report: this version's schema on unpkg, which serves every file of a published
 * npm package (the same file is in the package, `@mha/conformance/schemas/report.schema.json`).
 */
function reportSchemaUrl(): string {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `https://unpkg.com/@mha/conformance@${version}/schemas/report.schema.json`;
}

/** The machine and versions the HTML report shows. */
function htmlMeta() {
  const cpu = cpus();
  const version = (rel: string) => {
    try {
      return String((JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version?: unknown }).version);
    } catch {
      return 'unknown';
    }
  };
  return {
    date: new Date().toISOString(),
    machine: { node: process.version, os: `${osType()} ${release()} ${arch()}`, cpu: `${cpu[0]?.model.trim() ?? 'unknown'} x ${cpu.length}` },
    versions: { '@mha/conformance': version('../package.json'), v8: process.versions.v8 },
  };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const bad = args.group.filter((g) => !(GROUPS as readonly string[]).includes(g));
  if (bad.length > 0) {
    console.error(`unknown group ${bad.map((b) => printable(b)).join(', ')}; groups: ${GROUPS.join(', ')}`);
    return 2;
  }
  let profile: Partial<BackendProfile> | undefined;
  let limit: number | undefined;
  try {
    profile = overrides(args);
    limit = maxFailures(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(printable(e.message));
    return 2;
  }
  const fixtures = [builtinFixturesDir(), ...args.fixtures].flatMap((d) => loadFixtureDir(d));
  const groups = args.group.length > 0 ? (args.group as Group[]) : undefined;
  const onnxPeer = loadOnnxPeerCases(builtinOnnxPeerDir());
  const moduleFixtures = loadModuleFixtures();
  if (profile?.expectations && !process.env.MHA_CONFORMANCE_CHILD) {
    const ids = new Set(buildSuite({ fixtures, onnxPeer, moduleFixtures }).map((c) => c.id));
    for (const id of Object.keys(profile.expectations)) if (!ids.has(id)) console.error(`warning: --profile expectation ${printable(JSON.stringify(id))} matches no test id`);
  }
  if (args.list) {
    for (const c of buildSuite({ fixtures, onnxPeer, moduleFixtures, groups, filter: args.filter })) console.log(printable(`${c.id}${c.needs?.length ? `  (needs ${c.needs.join(', ')})` : ''}`));
    return 0;
  }
  let specs: string[];
  try {
    specs = [...args.backend, ...(args.repo ? repoBackendModules(ownRepoRoot() ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..')) : [])];
  } catch (e) {
    console.error(`--repo: ${(e as Error).message} (--repo runs this repository's checkout; elsewhere give --backend)`);
    return 2;
  }
  if (specs.length === 0) {
    console.error(`give --backend <module> or --repo\n\n${USAGE}`);
    return 2;
  }
  const reports: BackendReport[] = [];
  const failed = (rs: readonly BackendReport[]) => rs.some((r) => r.results.some((x) => x.status === 'fail'));
  for (const [i, spec] of specs.entries()) {
    if (specs.length > 1) {
      reports.push(...(await runIsolated(spec, args)));
      if (args.bail && failed(reports)) {
        if (i + 1 < specs.length) console.error(`--bail: not running ${specs.slice(i + 1).map((s) => printable(s)).join(', ')}`);
        break;
      }
      continue;
    }
    const file = fileURLToPath(resolveModule(spec));
    const repo = isRepoBackendPath(file);
    for (const backend of await loadBackends(spec)) {
      const notes: string[] = [];
      if (!repo && PROFILES[backend.name]) notes.push(`'${backend.name}' is also the name of one of this repository's backends, but this one was loaded from ${file}, outside the repository's packages: its profile does not apply (default tolerance; use --tolerance or --profile)`);
      if (profile?.tolerance) notes.push(`tolerance from ${args.tolerance ? '--tolerance' : '--profile'}: atol ${profile.tolerance.atol}, rtol ${profile.tolerance.rtol}`);
      reports.push(await runSuite(backend, { fixtures, onnxPeer, moduleFixtures, groups, filter: args.filter, profile, repoProfile: repo, maxFailures: limit, notes, onResult: progress(backend.name) }));
      if (args.bail && failed(reports)) break;
    }
  }
  const details = formatDetails(reports);
  if (args.json) writeFileSync(args.json, reportToJSON(reports, { $schema: reportSchemaUrl(), date: new Date().toISOString(), node: process.version }));
  if (args.markdown) writeFileSync(args.markdown, `# MHA conformance report\n\n${formatTable(reports, true)}\n\n${details ? `\`\`\`\n${details}\n\`\`\`\n` : ''}`);
  if (args.html) writeFileSync(args.html, formatHtmlReport(reports, htmlMeta()));
  if (!process.env.MHA_CONFORMANCE_CHILD) {
    console.log(formatTable(reports));
    if (details) console.log(`\n${details}`);
    console.log(`\nconformance: ${totalsLine(reports)}`);
  }
  return failed(reports) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(printable(e instanceof Error ? e.message : String(e), true));
    process.exitCode = 2;
  },
);
