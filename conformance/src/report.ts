import { GROUPS, type Group } from './case.js';
import type { BackendReport, CaseResult } from './suite.js';

/** Counts and worst errors of one backend in one group. */
export interface GroupSummary {
  readonly pass: number;
  readonly fail: number;
  readonly skip: number;
  readonly maxAbs: number;
  readonly maxRel: number;
}

/** Summarises results per group (plus `total`). */
export function summarise(results: readonly CaseResult[]): Record<Group | 'total', GroupSummary> {
  const empty = (): GroupSummary => ({ pass: 0, fail: 0, skip: 0, maxAbs: 0, maxRel: 0 });
  const out = Object.fromEntries([...GROUPS, 'total'].map((g) => [g, empty()])) as Record<Group | 'total', GroupSummary>;
  for (const r of results) {
    for (const key of [r.group, 'total'] as const) {
      const s = out[key];
      out[key] = {
        pass: s.pass + (r.status === 'pass' ? 1 : 0),
        fail: s.fail + (r.status === 'fail' ? 1 : 0),
        skip: s.skip + (r.status === 'skip' ? 1 : 0),
        maxAbs: Math.max(s.maxAbs, r.maxAbs),
        maxRel: Math.max(s.maxRel, r.maxRel),
      };
    }
  }
  return out;
}

function cell(s: GroupSummary): string {
  if (s.pass + s.fail + s.skip === 0) return '-';
  const counts = `${s.pass}/${s.fail}/${s.skip}`;
  return s.maxAbs > 0 ? `${counts} ${s.maxAbs.toExponential(1)}` : counts;
}

function table(rows: string[][], markdown: boolean): string {
  if (markdown) {
    const [head, ...body] = rows;
    return [`| ${head!.join(' | ')} |`, `|${head!.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/**
 * The backend x group table: each cell is `pass/fail/skip` and the max abs error seen vs the oracle
 * (golden fixtures or float64 reference) in that group; the last columns give totals and max rel error.
 */
export function formatTable(reports: readonly BackendReport[], markdown = false): string {
  const head = ['backend', ...GROUPS, 'total', 'max abs err', 'max rel err'];
  const rows = reports.map((r) => {
    const s = summarise(r.results);
    return [r.backend, ...GROUPS.map((g) => cell(s[g])), `${s.total.pass}/${s.total.fail}/${s.total.skip}`, s.total.maxAbs.toExponential(2), s.total.maxRel.toExponential(2)];
  });
  const legend = 'cells: pass/fail/skip and the max abs error vs the oracle in that group';
  return `${table([head, ...rows], markdown)}\n${markdown ? '\n' : ''}${legend}`;
}

/** Failures with test id, reason, worst element; then skips with their reasons (deduplicated). */
export function formatDetails(reports: readonly BackendReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    for (const f of r.results.filter((x) => x.status === 'fail')) {
      lines.push(`FAIL ${r.backend} ${f.id}\n     ${f.reason ?? ''}${f.worst ? `\n     worst element ${JSON.stringify(f.worst.position)}: expected ${f.worst.expected}, actual ${f.worst.actual}` : ''}`);
    }
  }
  for (const r of reports) {
    // Capability skips are counted per capability; other reasons verbatim.
    const caps = new Map<string, number>();
    const reasons = new Map<string, number>();
    for (const s of r.results.filter((x) => x.status === 'skip')) {
      const reason = s.reason ?? '';
      const missing = reason.startsWith('backend does not declare') ? [...reason.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!) : [];
      if (missing.length > 0) for (const c of missing) caps.set(c, (caps.get(c) ?? 0) + 1);
      else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    if (caps.size > 0) lines.push(`skip ${r.backend}: undeclared capabilities (cases needing each): ${[...caps].map(([c, n]) => `${c} x${n}`).join(', ')}`);
    for (const [reason, n] of reasons) lines.push(`skip ${r.backend} x${n}: ${reason}`);
  }
  return lines.join('\n');
}

/** `N passed, N failed, N skipped` over every report. */
export function totalsLine(reports: readonly BackendReport[]): string {
  const t = summarise(reports.flatMap((r) => r.results)).total;
  return `${t.pass} passed, ${t.fail} failed, ${t.skip} skipped`;
}
