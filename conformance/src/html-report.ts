import { GROUPS, type Group } from './case.js';
import type { ErrorMap } from './compare.js';
import { formatRatio, printable, summarise, totalsLine, type GroupSummary } from './report.js';
import type { BackendReport, CaseResult } from './suite.js';

/** Where and with what the suite ran; every field is optional and printed as given. */
export interface HtmlReportMeta {
  readonly title?: string;
  /** ISO date of the run. */
  readonly date?: string;
  /** e.g. `{ node: 'v20.19.0', os: 'linux 6.1 x64', cpu: 'AMD EPYC x 2' }` or a browser's user agent. */
  readonly machine?: Readonly<Record<string, string>>;
  /** Package or runtime versions, e.g. `{ '@mha/conformance': '0.1.0' }`. */
  readonly versions?: Readonly<Record<string, string>>;
}

/** Text from a backend or a file, safe inside HTML text and attribute values (quotes included). */
export function escapeHtml(text: string): string {
  return printable(text, true).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
:root { color-scheme: light; font: 14px/1.4 system-ui, sans-serif; color: #1d2330; }
body { margin: 24px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #dde; }
code, .mono, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { white-space: pre-wrap; margin: 4px 0; }
table { border-collapse: collapse; } th, td { padding: 4px 8px; border: 1px solid #d6d9e0; text-align: center; }
th { background: #f1f3f7; font-weight: 600; } td.name { text-align: left; font-weight: 600; }
td.pass { background: #cdeccd; } td.fail { background: #f6c1c1; font-weight: 700; } td.skip { background: #eceef2; color: #667; }
td.mixed { background: #e4f2d6; } td.none { color: #aab; }
.totals { font-size: 15px; margin: 6px 0 14px; } .totals .fail { color: #b00020; font-weight: 700; } .totals .ok { color: #176f2c; font-weight: 700; }
.legend { color: #556; font-size: 12.5px; margin: 6px 0; }
.failure { border: 1px solid #f0b4b4; border-left: 5px solid #c62828; border-radius: 4px; padding: 8px 12px; margin: 10px 0; background: #fff8f8; }
.failure h3 { margin: 0 0 4px; font-size: 14px; } .failure .id { font-family: ui-monospace, Menlo, monospace; }
.heat { display: inline-grid; gap: 1px; background: #fff; margin: 6px 0; border: 1px solid #ccd; }
.heat div { width: 14px; height: 14px; } .heat div.worst { outline: 2px solid #000; outline-offset: -2px; }
.scale { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: #556; margin-left: 12px; vertical-align: top; }
.scale span.sw { display: inline-block; width: 14px; height: 14px; border: 1px solid #ccd; }
ul.skips li { margin: 4px 0; } .who { color: #556; } dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; } dt { font-weight: 600; }
`;

/**
 * Colour of an error ratio (|diff| / allowed): white at 0, through yellow to orange at the tolerance (1),
 * dark red beyond it; magenta for NaN / infinite. Shared by the report and its tests.
 */
export function ratioColour(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'rgb(200, 0, 200)';
  if (ratio <= 1) {
    // white -> yellow (0.5) -> orange (1)
    const t = Math.max(0, ratio);
    const g = Math.round(255 - 90 * t);
    const b = Math.round(255 * Math.max(0, 1 - 2 * t));
    return `rgb(255, ${g}, ${b})`;
  }
  // beyond the tolerance: red, darker with log10(ratio) up to 1000x
  const t = Math.min(1, Math.log10(ratio) / 3);
  return `rgb(${Math.round(230 - 110 * t)}, ${Math.round(40 - 40 * t)}, ${Math.round(30 - 30 * t)})`;
}

function cellClass(s: GroupSummary): string {
  if (s.pass + s.fail + s.skip === 0) return 'none';
  if (s.fail > 0) return 'fail';
  if (s.pass === 0) return 'skip';
  return s.skip > 0 ? 'mixed' : 'pass';
}

function heatmap(m: ErrorMap, worst: CaseResult['worst']): string {
  const r = m.shape.length;
  const cells = m.cells
    .map((v, k) => {
      const i = m.rowStart + Math.floor(k / m.cols);
      const j = m.colStart + (k % m.cols);
      const pos = [...m.lead, i, j];
      const isWorst = worst !== undefined && worst.position.length === r && worst.position.every((p, d) => p === pos[d]);
      const label = `[${pos.join(',')}] err/tol ${Number.isFinite(v) ? v.toPrecision(3) : 'inf'}`;
      return `<div${isWorst ? ' class="worst"' : ''} style="background:${ratioColour(v)}" title="${label}" data-ratio="${Number.isFinite(v) ? v : 'Infinity'}"></div>`;
    })
    .join('');
  const where = `slice [${[...m.lead, `${m.rowStart}:${m.rowStart + m.rows}`, `${m.colStart}:${m.colStart + m.cols}`].join(', ')}] of shape [${m.shape.join(', ')}]`;
  const scale = [0, 0.5, 1, 10, 1000, Infinity]
    .map((v) => `<span class="sw" style="background:${ratioColour(v)}"></span>${v === Infinity ? 'NaN/inf' : v}`)
    .join(' ');
  return `<div class="legend">error map (err/tol per element, the worst outlined): ${escapeHtml(where)}</div>
<div class="heat" style="grid-template-columns:repeat(${m.cols}, 14px)" role="img" aria-label="error heatmap">${cells}</div><span class="scale">${scale}</span>`;
}

function failureBlock(backend: string, f: CaseResult): string {
  const w = f.worst;
  const worst = w && !(f.reason ?? '').includes('worst element') ? `<div class="mono">worst element [${w.position.join(',')}]: expected ${escapeHtml(String(w.expected))}, got ${escapeHtml(String(w.actual))}</div>` : '';
  return `<div class="failure" data-backend="${escapeHtml(backend)}" data-id="${escapeHtml(f.id)}">
<h3><span class="badge">FAIL</span> ${escapeHtml(backend)} <span class="id">${escapeHtml(f.id)}</span></h3>
<div>${escapeHtml(f.title)} <span class="who">(${escapeHtml(f.spec)})</span></div>
<pre>${escapeHtml(f.reason ?? '')}</pre>${worst}${f.errorMap ? heatmap(f.errorMap, w) : ''}
</div>`;
}

/** Skip reasons once, each with the backends (and counts) it applies to. */
function skipList(reports: readonly BackendReport[]): string {
  const byReason = new Map<string, Map<string, number>>();
  const add = (reason: string, backend: string, n: number) => {
    const m = byReason.get(reason) ?? new Map<string, number>();
    m.set(backend, (m.get(backend) ?? 0) + n);
    byReason.set(reason, m);
  };
  for (const r of reports) {
    // Missing capabilities are summed per capability (as the text report does), not per combination.
    const caps = new Map<string, number>();
    let capCases = 0;
    for (const s of r.results) {
      if (s.status !== 'skip') continue;
      const reason = s.reason ?? '';
      const missing = reason.startsWith('backend does not declare') ? [...reason.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!) : [];
      if (missing.length === 0) add(reason, r.backend, 1);
      else {
        capCases++;
        for (const c of missing) caps.set(c, (caps.get(c) ?? 0) + 1);
      }
    }
    if (caps.size > 0) add(`undeclared capabilities (cases needing each): ${[...caps].map(([c, n]) => `${c} x${n}`).join(', ')}`, r.backend, capCases);
  }
  if (byReason.size === 0) return '<p>No case was skipped.</p>';
  const items = [...byReason].map(([reason, who]) => {
    const all = reports.length > 1 && who.size === reports.length && new Set(who.values()).size === 1;
    const names = all ? `every backend (x${[...who.values()][0]} each)` : [...who].map(([b, n]) => `${escapeHtml(b)} x${n}`).join(', ');
    return `<li>${escapeHtml(reason)}<br><span class="who">${names}</span></li>`;
  });
  return `<ul class="skips">${items.join('\n')}</ul>`;
}

function dl(entries: Readonly<Record<string, string>> | undefined): string {
  if (!entries || Object.keys(entries).length === 0) return '';
  return `<dl>${Object.entries(entries)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd class="mono">${escapeHtml(v)}</dd>`)
    .join('')}</dl>`;
}

/**
 * The conformance reports as one self-contained HTML page (inline CSS, no script, no external
 * asset; a Content-Security-Policy forbids any fetch): the backend x group table coloured by
 * status, the failures with their worst element and an error heatmap where the case compared a
 * matrix, likely causes and notes, skip reasons once with the backends they apply to, each backend's
 * tolerance and capabilities, and the machine and versions. Runs anywhere (no Node APIs), so a
 * browser page can render it too.
 */
export function formatHtmlReport(reports: readonly BackendReport[], meta: HtmlReportMeta = {}): string {
  const groups: Group[] = GROUPS.filter((g) => reports.some((r) => r.results.some((x) => x.group === g)));
  const failed = reports.some((r) => r.results.some((x) => x.status === 'fail'));
  const head = `<tr><th>backend</th>${groups.map((g) => `<th>${g}</th>`).join('')}<th>total</th><th>err/tol</th></tr>`;
  const rows = reports
    .map((r) => {
      const s = summarise(r.results);
      const cells = groups
        .map((g) => {
          const c = s[g];
          const text = c.pass + c.fail + c.skip === 0 ? '-' : `${c.pass}/${c.fail}/${c.skip}`;
          return `<td class="${cellClass(c)}" data-group="${g}" title="${g}: ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped; worst err/tol ${formatRatio(c.ratio)}">${text}</td>`;
        })
        .join('');
      const t = s.total;
      return `<tr data-backend="${escapeHtml(r.backend)}"><td class="name">${escapeHtml(r.backend)}</td>${cells}<td class="${cellClass(t)}">${t.pass}/${t.fail}/${t.skip}${r.notRun ? ` +${r.notRun}` : ''}</td><td>${formatRatio(t.ratio)}</td></tr>`;
    })
    .join('\n');
  const failures = reports.flatMap((r) => r.results.filter((x) => x.status === 'fail').map((f) => failureBlock(r.backend, f)));
  const remarks = reports.flatMap((r) => [
    ...(r.notRun ? [`<li>${escapeHtml(r.backend)}: ${r.notRun} case(s) not run after --max-failures / --bail</li>`] : []),
    ...(r.likelyCauses ?? []).map((c) => `<li><b>likely cause</b> (${escapeHtml(r.backend)}): ${escapeHtml(c.hint)}</li>`),
    ...(r.notes ?? []).map((n) => `<li>note (${escapeHtml(r.backend)}): ${escapeHtml(n)}</li>`),
  ]);
  const tolerances = reports
    .map((r) => `<tr><td class="name">${escapeHtml(r.backend)}</td><td class="mono">${r.tolerance.atol}</td><td class="mono">${r.tolerance.rtol}</td><td style="text-align:left">${r.capabilities.map((c) => escapeHtml(c)).join(', ') || '-'}</td></tr>`)
    .join('\n');
  const title = escapeHtml(meta.title ?? 'MHA conformance report');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${title}</h1>
${meta.date ? `<div class="legend">${escapeHtml(meta.date)}</div>` : ''}
<div class="totals" id="totals"><span class="${failed ? 'fail' : 'ok'}">${failed ? 'FAILED' : 'PASSED'}</span> ${escapeHtml(totalsLine(reports))}</div>
<table id="summary">
${head}
${rows}
</table>
<div class="legend">cells: passed/failed/skipped (green: all passed; light green: passed and skipped; red: a failure; grey: all skipped). err/tol: the largest error as a fraction of the tolerance it was checked against (&lt;= 1 passes).</div>
<h2>Failures (${failures.length})</h2>
${failures.length ? failures.join('\n') : '<p>None.</p>'}
${remarks.length ? `<h2>Likely causes and notes</h2><ul>${remarks.join('\n')}</ul>` : ''}
<h2>Skipped</h2>
${skipList(reports)}
<h2>Tolerances and capabilities</h2>
<table><tr><th>backend</th><th>atol</th><th>rtol</th><th>capabilities</th></tr>
${tolerances}
</table>
<h2>Machine and versions</h2>
${dl(meta.machine)}${dl(meta.versions)}
</body>
</html>
`;
}
