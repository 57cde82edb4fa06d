import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Runs the built CLI as a user would (turbo builds this package before its tests).
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const cli = join(dist, 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'mha-cli-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function backendModule(bug: string): string {
  const file = join(tmp, `${bug}.mjs`);
  writeFileSync(file, `import { buggyBackend } from ${JSON.stringify(pathToFileURL(join(dist, 'buggy-backends.js')).href)};\nexport default buggyBackend(${JSON.stringify(bug)});\n`);
  return file;
}

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, MHA_CONFORMANCE_CHILD: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('mha-conformance CLI', () => {
  it('passes a correct backend with exit 0 and prints the table and totals', () => {
    const r = run(['--backend', backendModule('none')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^backend\s+shapes\s+causal-mask\s+head-split\s+numeric\s+properties\s+onnx-peer\s+lifecycle\s+errors/m);
    expect(r.out).toMatch(/^conformance: \d+ passed, 0 failed, \d+ skipped$/m);
  });
  it.each([
    ['merge-order', 'head-split'],
    ['causal-off-by-one', 'causal-mask'],
    ['no-scale', 'numeric'],
    ['unstable-softmax', 'numeric'],
  ])('catches %s in group %s, exits 1, and reports the worst element', (bug, group) => {
    const json = join(tmp, `${bug}.json`);
    const r = run(['--backend', backendModule(bug), '--json', json]);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { reports: { results: { group: string; status: string }[] }[] };
    const failing = new Set(report.reports[0]!.results.filter((x) => x.status === 'fail').map((x) => x.group));
    expect(failing).toContain(group);
    expect(r.out).toMatch(new RegExp(`^FAIL buggy-${bug} ${group}/`, 'm'));
  });
  it('--list prints ids, --group filters, and usage errors exit 2', () => {
    const list = run(['--list', '--group', 'errors']);
    expect(list.code).toBe(0);
    const ids = list.out.trim().split('\n');
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.every((l) => l.startsWith('errors/'))).toBe(true);
    expect(run(['--group', 'nope', '--list']).code).toBe(2);
    expect(run([]).code).toBe(2);
    expect(run(['--backend', join(tmp, 'missing.mjs')]).code).toBe(2);
  });
  it('writes a markdown report with the table', () => {
    const md = join(tmp, 'r.md');
    expect(run(['--backend', backendModule('none'), '--group', 'shapes', '--markdown', md]).code).toBe(0);
    expect(readFileSync(md, 'utf8')).toMatch(/^\| backend \| shapes \|/m);
  });
});
