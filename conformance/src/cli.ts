#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GROUPS, type Group } from './case.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { loadBackends, repoBackendModules } from './load-backend.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases } from './onnx-peer.js';
import { formatDetails, formatTable, totalsLine } from './report.js';
import { buildSuite, runSuite, type BackendReport } from './suite.js';

const USAGE = `mha-conformance: run the MHA conformance suite against a backend

  mha-conformance --backend <package or path> [--backend ...] [options]
  mha-conformance --repo            every backend package of this repository

options:
  --backend <spec>    a package name (resolved from the current directory) or a path to a module
                      exporting an MhaBackend (or 'backends', or a default export); repeatable
  --repo              run every backend package of this repository (package.json 'mhaConformance.module'),
                      each in its own process
  --fixtures <dir>    extra golden cases in the mha-fixture/1 format, added to the built-in ones; repeatable
  --group <name>      only this group (${GROUPS.join(', ')}); repeatable
  --filter <text>     only test ids containing <text>
  --json <file>       write the full report as JSON
  --markdown <file>   write the table and details as Markdown
  --list              print the test ids and exit
  -h, --help          this text

exit status: 0 when nothing failed, 1 when a case failed, 2 on a usage or loading error`;

interface Args {
  backend: string[];
  repo: boolean;
  fixtures: string[];
  group: string[];
  filter?: string | undefined;
  json?: string | undefined;
  markdown?: string | undefined;
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
      group: { type: 'string', multiple: true, default: [] },
      filter: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
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
    const text = `${label} ${done}/${total} ${r.id}`;
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
  for (const g of args.group) childArgs.push('--group', g);
  if (args.filter) childArgs.push('--filter', args.filter);
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, MHA_CONFORMANCE_CHILD: '1' } });
      child.on('exit', (c) => resolve(c));
    });
    if (!existsSync(out)) throw new Error(`${spec}: the conformance run exited with ${code} and wrote no report`);
    return (JSON.parse(readFileSync(out, 'utf8')) as { reports: BackendReport[] }).reports;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
    console.error(`unknown group ${bad.join(', ')}; groups: ${GROUPS.join(', ')}`);
    return 2;
  }
  const fixtures = [builtinFixturesDir(), ...args.fixtures].flatMap((d) => loadFixtureDir(d));
  const groups = args.group.length > 0 ? (args.group as Group[]) : undefined;
  const onnxPeer = loadOnnxPeerCases(builtinOnnxPeerDir());
  if (args.list) {
    for (const c of buildSuite({ fixtures, onnxPeer, groups, filter: args.filter })) console.log(`${c.id}${c.needs?.length ? `  (needs ${c.needs.join(', ')})` : ''}`);
    return 0;
  }
  const specs = [...args.backend, ...(args.repo ? repoBackendModules(join(dirname(fileURLToPath(import.meta.url)), '..', '..')) : [])];
  if (specs.length === 0) {
    console.error(`give --backend <module> or --repo\n\n${USAGE}`);
    return 2;
  }
  const reports: BackendReport[] = [];
  for (const spec of specs) {
    if (specs.length > 1) {
      reports.push(...(await runIsolated(spec, args)));
      continue;
    }
    for (const backend of await loadBackends(spec)) {
      reports.push(await runSuite(backend, { fixtures, onnxPeer, groups, filter: args.filter, onResult: progress(backend.name) }));
    }
  }
  const details = formatDetails(reports);
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ format: 'mha-conformance-report/1', date: new Date().toISOString(), node: process.version, reports }, null, 1)}\n`);
  if (args.markdown) writeFileSync(args.markdown, `# MHA conformance report\n\n${formatTable(reports, true)}\n\n${details ? `\`\`\`\n${details}\n\`\`\`\n` : ''}`);
  if (!process.env.MHA_CONFORMANCE_CHILD) {
    console.log(formatTable(reports));
    if (details) console.log(`\n${details}`);
    console.log(`\nconformance: ${totalsLine(reports)}`);
  }
  return reports.some((r) => r.results.some((x) => x.status === 'fail')) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 2;
  },
);
