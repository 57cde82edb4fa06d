import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReportJSON } from './report.js';
import { DEFAULT_PROFILE } from './profiles.js';

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

/** A third-party module (outside this repo's packages) whose backend is the reference under the name `name`. */
function renamedReference(name: string): string {
  const file = join(tmp, `renamed-${name}.mjs`);
  writeFileSync(
    file,
    `import { referenceBackend } from ${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)};\nexport default { ...referenceBackend, name: ${JSON.stringify(name)} };\n`,
  );
  return file;
}

function jsonReport(path: string) {
  return parseReportJSON(readFileSync(path, 'utf8'));
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
  it('prints a likely cause for a known bug class', () => {
    const r = run(['--backend', backendModule('merge-order'), '--group', 'head-split', '--group', 'numeric']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^likely cause \(buggy-merge-order\): heads merged in the wrong order/m);
  });
  it('--bail stops at the first failure and says how many cases did not run; --max-failures N stops after N', () => {
    const json = join(tmp, 'bail.json');
    const bail = run(['--backend', backendModule('no-scale'), '--bail', '--json', json]);
    expect(bail.code).toBe(1);
    const [report] = jsonReport(json);
    expect(report!.results.filter((x) => x.status === 'fail')).toHaveLength(1);
    expect(report!.notRun).toBeGreaterThan(50);
    expect(bail.out).toMatch(/^STOPPED buggy-no-scale: \d+ case\(s\) not run after 1 failure/m);
    expect(bail.out).toMatch(/^conformance: \d+ passed, 1 failed, \d+ skipped, \d+ not run$/m);
    const three = run(['--backend', backendModule('no-scale'), '--max-failures', '3', '--json', json]);
    expect(three.code).toBe(1);
    expect(jsonReport(json)[0]!.results.filter((x) => x.status === 'fail')).toHaveLength(3);
    expect(run(['--backend', backendModule('no-scale'), '--max-failures', '0']).code).toBe(2);
  });
  it('--tolerance sets a third-party tolerance; malformed values are usage errors', () => {
    const json = join(tmp, 'tol.json');
    const strict = run(['--backend', backendModule('no-scale'), '--group', 'numeric', '--json', json]);
    const strictFails = jsonReport(json)[0]!.results.filter((x) => x.status === 'fail').length;
    expect(strict.code).toBe(1);
    run(['--backend', backendModule('no-scale'), '--group', 'numeric', '--tolerance', '10,1', '--json', json]);
    const [loose] = jsonReport(json);
    expect(loose!.tolerance).toEqual({ atol: 10, rtol: 1 });
    expect(loose!.results.filter((x) => x.status === 'fail').length).toBeLessThan(strictFails);
    for (const bad of ['1e-5', 'a,b', '-1,0', '0,0']) expect(run(['--backend', backendModule('none'), '--tolerance', bad]).code, bad).toBe(2);
  });
  it('--profile applies a tolerance and expectations (reported as skips with the reason) and warns about unknown ids', () => {
    const first = join(tmp, 'first.json');
    run(['--backend', backendModule('no-scale'), '--group', 'numeric', '--json', first]);
    const failing = jsonReport(first)[0]!.results.filter((x) => x.status === 'fail').map((x) => x.id);
    const profile = join(tmp, 'profile.json');
    writeFileSync(profile, JSON.stringify({ expectations: { ...Object.fromEntries(failing.map((id) => [id, 'known: we forgot the scale'])), 'numeric/nope': 'stale' } }));
    const json = join(tmp, 'profiled.json');
    const r = run(['--backend', backendModule('no-scale'), '--group', 'numeric', '--profile', profile, '--json', json]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: --profile expectation "numeric/nope" matches no test id');
    expect(r.out).toMatch(/^skip expected failure: known: we forgot the scale$/m);
    expect(jsonReport(json)[0]!.results.filter((x) => x.status === 'skip' && x.reason?.includes('forgot')).length).toBe(failing.length);
    writeFileSync(profile, JSON.stringify({ tolerance: { atol: 1e-5 } }));
    expect(run(['--backend', backendModule('none'), '--profile', profile]).code).toBe(2);
    writeFileSync(profile, '{"tolerance": {"atol": 1e-5, "rtol": 1e-4}, "extra": 1}');
    expect(run(['--backend', backendModule('none'), '--profile', profile]).err).toMatch(/unknown key "extra"/);
  });
  it("a third-party backend named 'ts' does not get the repo's ts profile, and the report says so; the repo's own does", () => {
    const json = join(tmp, 'impostor.json');
    const r = run(['--backend', renamedReference('ts'), '--group', 'shapes', '--json', json]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^note \(ts\): 'ts' is also the name of one of this repository's backends, but this one was loaded from .*outside the repository's packages/m);
    expect(jsonReport(json)[0]!.tolerance).toEqual(DEFAULT_PROFILE.tolerance);
    const own = run(['--backend', join(dist, '..', '..', 'packages', 'backend-ts', 'dist', 'index.js'), '--group', 'shapes', '--json', json]);
    expect(own.code).toBe(0);
    expect(own.out).not.toMatch(/^note/m);
    expect(jsonReport(json).map((x) => x.backend)).toContain('ts');
  });
  it('refuses a fixture directory with an id carrying terminal escapes, without printing the escape', () => {
    const dir = mkdtempSync(join(tmp, 'fixtures-'));
    const good = JSON.parse(readFileSync(join(dist, 'fixtures', 'golden', 'book-mha-ch03.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'evil.json'), JSON.stringify({ ...good, id: '\u001b[2Jevil' }));
    const r = run(['--backend', backendModule('none'), '--fixtures', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/evil\.json\.id/);
    expect(r.err).not.toContain('\u001b');
  });
});
