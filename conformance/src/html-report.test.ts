import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buggyBackend } from './buggy-backends.js';
import { compare } from './compare.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { escapeHtml, formatHtmlReport, ratioColour } from './html-report.js';
import { DEFAULT_PROFILE } from './profiles.js';
import { referenceBackend } from './reference-backend.js';
import { parseReportJSON, reportToJSON } from './report.js';
import { runSuite, type BackendReport, type CaseResult } from './suite.js';

const fixtures = loadFixtureDir(builtinFixturesDir());
const fail = (over: Partial<CaseResult>): CaseResult => ({ id: 'numeric/x', group: 'numeric', title: 't', spec: 's', status: 'fail', maxAbs: 0, maxRel: 0, ratio: 0, ms: 0, ...over });
const report = (backend: string, results: CaseResult[]): BackendReport => ({ backend, capabilities: ['float32'], tolerance: DEFAULT_PROFILE.tolerance, results });

/** Each `<tr data-backend=...>` row's cells: [class, text]. */
function summaryRows(html: string): Map<string, [string, string][]> {
  const table = html.slice(html.indexOf('<table id="summary">'), html.indexOf('</table>'));
  const rows = new Map<string, [string, string][]>();
  for (const m of table.matchAll(/<tr data-backend="([^"]*)">(.*?)<\/tr>/g)) {
    rows.set(m[1]!, [...m[2]!.matchAll(/<td class="(pass|fail|skip|mixed|none)"[^>]*>([^<]*)<\/td>/g)].map((c) => [c[1]!, c[2]!]));
  }
  return rows;
}

describe('compare error map', () => {
  it('a failed matrix comparison carries |diff|/allowed around the worst element, at its leading indices', () => {
    const expected = { data: new Float32Array(2 * 3 * 4), shape: [2, 3, 4] };
    const actual = { data: new Float32Array(2 * 3 * 4), shape: [2, 3, 4] };
    actual.data[12 + 1 * 4 + 2] = 0.5; // [1, 1, 2]
    actual.data[12 + 0 * 4 + 0] = NaN; // [1, 0, 0]
    const c = compare(actual, expected, { atol: 0.1, rtol: 0 });
    expect(c.ok).toBe(false);
    expect(c.errorMap).toMatchObject({ shape: [2, 3, 4], lead: [1], rowStart: 0, colStart: 0, rows: 3, cols: 4 });
    expect(c.errorMap!.cells[0]).toBe(Infinity);
    expect(c.errorMap!.cells[1 * 4 + 2]).toBeCloseTo(5, 12);
    expect(c.errorMap!.cells.filter((v) => v !== 0)).toHaveLength(2);
  });
  it('crops a large matrix to 48 x 48 around the worst element; no map for vectors or passes', () => {
    const n = 100;
    const expected = { data: new Float32Array(n * n), shape: [n, n] };
    const actual = { data: new Float32Array(n * n), shape: [n, n] };
    actual.data[99 * n + 3] = 1;
    const m = compare(actual, expected, DEFAULT_PROFILE.tolerance).errorMap!;
    expect([m.rowStart, m.rows, m.colStart, m.cols]).toEqual([52, 48, 0, 48]);
    expect(m.cells[(99 - 52) * 48 + 3]).toBeGreaterThan(1);
    expect(compare({ data: [1, 2], shape: [2] }, { data: [1, 3], shape: [2] }, DEFAULT_PROFILE.tolerance).errorMap).toBeUndefined();
    expect(compare({ data: [1, 2], shape: [1, 2] }, { data: [1, 2], shape: [1, 2] }, DEFAULT_PROFILE.tolerance).errorMap).toBeUndefined();
  });
});

describe('HTML report', () => {
  it('colours the backend x group table by status and shows a heatmap for a failing matrix case', async () => {
    const reports = [await runSuite(referenceBackend, { fixtures }), await runSuite(buggyBackend('causal-off-by-one'), { fixtures })];
    const html = formatHtmlReport(reports, { date: '2025-01-01T00:00:00Z', machine: { node: 'v20', os: 'linux', cpu: 'x' }, versions: { '@mha/conformance': '0.1.0' } });
    const rows = summaryRows(html);
    expect([...rows.keys()]).toEqual([referenceBackend.name, buggyBackend('causal-off-by-one').name]);
    const good = rows.get(referenceBackend.name)!;
    expect(good.every(([cls]) => cls === 'pass' || cls === 'mixed' || cls === 'skip')).toBe(true);
    const bad = rows.get(buggyBackend('causal-off-by-one').name)!;
    expect(bad.some(([cls]) => cls === 'fail')).toBe(true);
    // each coloured cell's class matches its own counts
    for (const [cls, text] of [...good, ...bad]) {
      const [p, f, s] = text.split(' ')[0]!.split('/').map(Number) as [number, number, number];
      expect(cls).toBe(f > 0 ? 'fail' : p === 0 ? 'skip' : s > 0 ? 'mixed' : 'pass');
    }
    const failures = reports[1]!.results.filter((r) => r.status === 'fail');
    expect(html.match(/<div class="failure"/g)).toHaveLength(failures.length);
    const withMap = failures.filter((f) => f.errorMap);
    expect(withMap.length).toBeGreaterThan(0);
    expect(html.match(/role="img" aria-label="error heatmap"/g)).toHaveLength(withMap.length);
    // the heatmap's cells are the map's ratios, in order, coloured by ratioColour, the worst outlined
    const first = withMap[0]!;
    const block = html.slice(html.indexOf(`data-id="${escapeHtml(first.id)}"`));
    const cells = [...block.slice(0, block.indexOf('</div><span class="scale">')).matchAll(/<div( class="worst")? style="background:([^"]+)" title="[^"]*" data-ratio="([^"]+)">/g)];
    expect(cells.map((c) => Number(c[3]))).toEqual(first.errorMap!.cells);
    expect(cells.map((c) => c[2])).toEqual(first.errorMap!.cells.map(ratioColour));
    expect(cells.filter((c) => c[1])).toHaveLength(1);
    expect(html).toContain(`worst element [${first.worst!.position.join(",")}]`);
    expect(html).toContain('<dt>node</dt><dd class="mono">v20</dd>');
    expect(html).toContain('<th>rtol</th>');
  });
  it('escapes backend names, ids, reasons and skip reasons; loads nothing from the network', () => {
    const evil = '<img src=x onerror=alert(1)>"\'&';
    const r = report(evil, [fail({ id: `numeric/${evil}`, reason: `threw ${evil}` }), { ...fail({ id: 'a/b' }), status: 'skip', reason: `needs ${evil}` }]);
    const html = formatHtmlReport([r], { machine: { os: evil } });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('onerror=alert(1)>');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;');
    expect(html).toContain("content=\"default-src 'none'; style-src 'unsafe-inline'\"");
    expect(html).not.toMatch(/<script|<link|<img|<iframe|https?:\/\/|url\(|@import/i);
    expect(escapeHtml('a\u001b[31m\u202e')).toBe('a\\x1b[31m\\u202e');
  });
  it('lists each skip reason once with the backends it applies to', () => {
    const skip = (id: string, reason: string): CaseResult => ({ ...fail({ id }), status: 'skip', reason });
    const html = formatHtmlReport([report('a', [skip('x/1', 'R1'), skip('x/2', 'R1'), skip('x/3', 'R2')]), report('b', [skip('x/1', 'R1'), skip('x/2', 'R1')])]);
    expect(html.match(/<li>R1<br>/g)).toHaveLength(1);
    expect(html).toContain('<li>R1<br><span class="who">every backend (x2 each)</span></li>');
    expect(html).toContain('<li>R2<br><span class="who">a x1</span></li>');
  });
  it('error maps survive the JSON report (NaN / infinite cells included)', () => {
    const r = report('a', [fail({ errorMap: { shape: [2, 2], lead: [], rowStart: 0, colStart: 0, rows: 2, cols: 2, cells: [0, Infinity, 0.5, 2] } })]);
    expect(parseReportJSON(reportToJSON([r]))[0]!.results[0]!.errorMap!.cells).toEqual([0, Infinity, 0.5, 2]);
  });
});

describe('mha-conformance --html', () => {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const tmp = mkdtempSync(join(tmpdir(), 'mha-html-test-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  it('writes one self-contained file with the table, failures, machine and versions', () => {
    const mod = join(tmp, 'bug.mjs');
    writeFileSync(mod, `import { buggyBackend } from ${JSON.stringify(pathToFileURL(join(dist, 'buggy-backends.js')).href)};\nexport default buggyBackend('no-scale');\n`);
    const out = join(tmp, 'report.html');
    const r = spawnSync(process.execPath, [join(dist, 'cli.js'), '--backend', mod, '--group', 'numeric', '--html', out], { encoding: 'utf8', env: { ...process.env, MHA_CONFORMANCE_CHILD: '' } });
    expect(r.status).toBe(1);
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<tr data-backend="buggy-no-scale">');
    expect(html).toContain('aria-label="error heatmap"');
    expect(html).toContain(`<dt>node</dt><dd class="mono">${process.version}</dd>`);
    expect(html).toMatch(/<dt>@mha\/conformance<\/dt><dd class="mono">\d+\.\d+\.\d+/);
  });
});
