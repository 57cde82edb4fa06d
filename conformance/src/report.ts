import { MhaError, MhaErrorCode } from '@mha/core';
import { GROUPS, type Group } from './case.js';
import type { BackendReport, CaseResult } from './suite.js';

/** Counts and worst errors of one backend in one group. */
export interface GroupSummary {
  readonly pass: number;
  readonly fail: number;
  readonly skip: number;
  readonly maxAbs: number;
  readonly maxRel: number;
  /** The largest fraction of its tolerance any comparison at the profile's precision used. */
  readonly ratio: number;
  /** The same for comparisons at a looser, case-specific tolerance (the float16 ONNX cases); undefined when none. */
  readonly looseRatio: number | undefined;
}

/** Summarises results per group (plus `total`). */
export function summarise(results: readonly CaseResult[]): Record<Group | 'total', GroupSummary> {
  const empty = (): GroupSummary => ({ pass: 0, fail: 0, skip: 0, maxAbs: 0, maxRel: 0, ratio: 0, looseRatio: undefined });
  const worse = (a: number | undefined, b: number | undefined) => (b === undefined ? a : Math.max(a ?? 0, Number.isNaN(b) ? Infinity : b));
  const out = Object.fromEntries([...GROUPS, 'total'].map((g) => [g, empty()])) as Record<Group | 'total', GroupSummary>;
  for (const r of results) {
    for (const key of [r.group, 'total'] as const) {
      const s = out[key] ?? empty();
      out[key] = {
        pass: s.pass + (r.status === 'pass' ? 1 : 0),
        fail: s.fail + (r.status === 'fail' ? 1 : 0),
        skip: s.skip + (r.status === 'skip' ? 1 : 0),
        maxAbs: Math.max(s.maxAbs, r.maxAbs),
        maxRel: Math.max(s.maxRel, r.maxRel),
        ratio: worse(s.ratio, r.ratio ?? 0)!,
        looseRatio: worse(s.looseRatio, r.looseRatio),
      };
    }
  }
  return out;
}

// C0/C1 controls (ANSI escapes start with ESC), DEL, and bidi overrides that reorder what a terminal shows.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print on a terminal: control characters (ANSI escapes, carriage returns, bidi
 * overrides) become visible `\xNN` / `\uNNNN` escapes. Newlines are kept when `multiline`.
 * Everything a report prints that came from a backend or a file passes through here.
 */
export function printable(text: string, multiline = false): string {
  return text.replace(UNSAFE, (c) => {
    if (multiline && c === '\n') return c;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A fraction of the tolerance, two significant digits (`inf` for NaN, a shape mismatch or a non-finite result). */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return 'inf';
  if (r === 0) return '0';
  return r >= 100 ? r.toExponential(0) : String(Number(r.toPrecision(2)));
}

const counts = (s: GroupSummary) => `${s.pass}/${s.fail}/${s.skip}`;

function table(rows: string[][], markdown: boolean): string {
  if (markdown) {
    const [head, ...body] = rows;
    return [`| ${head!.join(' | ')} |`, `|${head!.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
  // One space between columns (two after the backend name) keeps eight groups under 120 columns.
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const join = (cells: string[]) => `${cells[0]}  ${cells.slice(1).join(' ')}`.trimEnd();
  const line = (r: string[]) => join(r.map((c, i) => c.padEnd(widths[i]!)));
  return [line(rows[0]!), join(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

/**
 * The backend x group table: each cell is `passed/failed/skipped`; `err/tol` is the largest error of
 * any comparison as a fraction of the tolerance that comparison allows (1 = at the limit); `fp16` is
 * the same for the float16 ONNX cases, checked against their own looser tolerance, so they neither
 * drown the float32 errors nor hide behind an absolute number.
 * The Markdown form adds each group's err/tol and the max abs / rel errors.
 */
export function formatTable(reports: readonly BackendReport[], markdown = false): string {
  const groups = GROUPS.filter((g) => reports.some((r) => r.results.some((x) => x.group === g)));
  const loose = reports.some((r) => r.results.some((x) => x.looseRatio !== undefined));
  const head = ['backend', ...groups, 'total', 'err/tol', ...(loose ? ['fp16'] : []), ...(markdown ? ['max abs err', 'max rel err'] : [])];
  const rows = reports.map((r) => {
    const s = summarise(r.results);
    const cell = (g: Group) => {
      const c = s[g];
      if (c.pass + c.fail + c.skip === 0) return '-';
      return markdown && c.ratio > 0 ? `${counts(c)} (${formatRatio(c.ratio)})` : counts(c);
    };
    const total = `${counts(s.total)}${r.notRun ? ` +${r.notRun}` : ''}`;
    const fp16 = loose ? [s.total.looseRatio === undefined ? '-' : formatRatio(s.total.looseRatio)] : [];
    return [printable(r.backend), ...groups.map(cell), total, formatRatio(s.total.ratio), ...fp16, ...(markdown ? [s.total.maxAbs.toExponential(2), s.total.maxRel.toExponential(2)] : [])];
  });
  const legend = [
    `cells: passed/failed/skipped${markdown ? ' (worst err/tol)' : ''}`,
    'err/tol: the largest error as a fraction of the tolerance it was checked against (<= 1 passes)',
    ...(loose ? ['fp16: the same for the float16 ONNX cases, against their own looser tolerance'] : []),
    ...(reports.some((r) => r.notRun) ? ['+N: cases not run after --max-failures / --bail'] : []),
  ].join(markdown ? '; ' : '\n');
  return `${table([head, ...rows], markdown)}\n${markdown ? '\n' : ''}${legend}`;
}

function indent(text: string): string {
  return printable(text, true).replace(/\n/g, '\n     ');
}

const CAPS = 'undeclared capabilities: ';

/**
 * Failures (test id, reason with the worst element once, `NaN` shown where it is), likely causes,
 * notes, then skip reasons, each printed once across backends with the backends it applies to.
 */
export function formatDetails(reports: readonly BackendReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const name = printable(r.backend);
    for (const f of r.results.filter((x) => x.status === 'fail')) {
      const reason = f.reason ?? '';
      const worst = f.worst && !reason.includes('worst element') ? `\n     worst element [${f.worst.position.join(',')}]: expected ${f.worst.expected}, got ${f.worst.actual}` : '';
      lines.push(`FAIL ${name} ${printable(f.id)}\n     ${indent(reason)}${worst}`);
    }
    if (r.notRun) lines.push(`STOPPED ${name}: ${r.notRun} case(s) not run after ${r.results.filter((x) => x.status === 'fail').length} failure(s) (--max-failures / --bail)`);
    for (const c of r.likelyCauses ?? []) lines.push(`likely cause (${name}): ${printable(c.hint)}`);
    for (const n of r.notes ?? []) lines.push(`note (${name}): ${printable(n)}`);
  }
  // reason -> count -> backends, so a reason shared by every backend is printed once.
  const skips = new Map<string, Map<number, string[]>>();
  const add = (reason: string, n: number, backend: string) => {
    const byCount = skips.get(reason) ?? new Map<number, string[]>();
    byCount.set(n, [...(byCount.get(n) ?? []), backend]);
    skips.set(reason, byCount);
  };
  for (const r of reports) {
    const caps = new Map<string, number>();
    const reasons = new Map<string, number>();
    for (const s of r.results.filter((x) => x.status === 'skip')) {
      const reason = s.reason ?? '';
      const missing = reason.startsWith('backend does not declare') ? [...reason.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!) : [];
      if (missing.length > 0) for (const c of missing) caps.set(c, (caps.get(c) ?? 0) + 1);
      else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    if (caps.size > 0) add(`${CAPS}${[...caps].map(([c, n]) => `${c} x${n}`).join(', ')}`, 0, r.backend);
    for (const [reason, n] of reasons) add(reason, n, r.backend);
  }
  const everyone = reports.length > 1 ? reports.map((r) => r.backend).join() : undefined;
  for (const [reason, byCount] of skips) {
    const who = [...byCount]
      .map(([n, backends]) => {
        const names = backends.join() === everyone ? 'every backend' : backends.map((b) => printable(b)).join(', ');
        return n === 0 ? names : `x${n} on ${names}`;
      })
      .join('; ');
    // The capability list is per backend and long: the backends go on the first line, the list below.
    if (reason.startsWith(CAPS)) lines.push(`skip undeclared capabilities on ${who} (cases needing each):\n     ${printable(reason.slice(CAPS.length))}`);
    else lines.push(`skip ${printable(reason)}\n     ${who}`);
  }
  return lines.join('\n');
}

/** `N passed, N failed, N skipped` over every report (plus `N not run` after --max-failures). */
export function totalsLine(reports: readonly BackendReport[]): string {
  const t = summarise(reports.flatMap((r) => r.results)).total;
  const notRun = reports.reduce((n, r) => n + (r.notRun ?? 0), 0);
  return `${t.pass} passed, ${t.fail} failed, ${t.skip} skipped${notRun ? `, ${notRun} not run` : ''}`;
}

// Every key whose number may be non-finite (written as a string, restored on reading).
const NUMERIC_KEYS = new Set(['maxAbs', 'maxRel', 'ratio', 'looseRatio', 'expected', 'actual', 'atol', 'rtol']);

/** The report format's name, in its `format` field. */
export const REPORT_FORMAT = 'mha-conformance-report/1';

/**
 * The reports as JSON (format `mha-conformance-report/1`, schema `@mha/conformance/schemas/report.schema.json`).
 * Non-finite numbers (a NaN output, an infinite error) are written as the strings `"NaN"`, `"Infinity"`,
 * `"-Infinity"` instead of JSON's lossy `null`, and {@link parseReportJSON} restores them.
 */
export function reportToJSON(reports: readonly BackendReport[], extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ format: REPORT_FORMAT, ...extra, reports }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1)}\n`;
}

// The required fields of report.schema.json, level by level (a test keeps the two in step).
const BACKEND_FIELDS = ['backend', 'capabilities', 'tolerance', 'results'];
const RESULT_FIELDS = ['id', 'group', 'title', 'spec', 'status', 'maxAbs', 'maxRel', 'ratio', 'ms'];

function fields(v: unknown, where: string, required: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MhaError(MhaErrorCode.InvalidType, where, v === null ? null : typeof v, 'expected a JSON object');
  for (const k of required) if (!Object.hasOwn(v, k)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.${k}`, undefined, 'missing field');
  return v as Record<string, unknown>;
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new MhaError(MhaErrorCode.InvalidType, where, v === null ? null : typeof v, 'expected an array');
  return v;
}

/**
 * Reads what {@link reportToJSON} wrote. A file that is not JSON, not this format or lacks a required
 * field raises an {@link MhaError} naming the field (`report.reports[0].results[3].status`).
 */
export function parseReportJSON(text: string): BackendReport[] {
  let o: unknown;
  try {
    o = JSON.parse(text, (k, v: unknown) => (NUMERIC_KEYS.has(k) && (v === 'NaN' || v === 'Infinity' || v === '-Infinity') ? Number(v) : v));
  } catch (e) {
    throw new MhaError(MhaErrorCode.InvalidType, 'report', undefined, `not JSON: ${(e as Error).message}`);
  }
  const top = fields(o, 'report', ['format', 'reports']);
  if (top.format !== REPORT_FORMAT) throw new MhaError(MhaErrorCode.InvalidType, 'report.format', typeof top.format === 'string' ? top.format.slice(0, 40) : typeof top.format, `expected '${REPORT_FORMAT}'`);
  list(top.reports, 'report.reports').forEach((r, i) => {
    const where = `report.reports[${i}]`;
    const b = fields(r, where, BACKEND_FIELDS);
    fields(b.tolerance, `${where}.tolerance`, ['atol', 'rtol']);
    list(b.capabilities, `${where}.capabilities`);
    if (b.likelyCauses !== undefined) list(b.likelyCauses, `${where}.likelyCauses`).forEach((c, j) => fields(c, `${where}.likelyCauses[${j}]`, ['bug', 'hint']));
    list(b.results, `${where}.results`).forEach((x, j) => {
      const res = fields(x, `${where}.results[${j}]`, RESULT_FIELDS);
      if (res.worst !== undefined) fields(res.worst, `${where}.results[${j}].worst`, ['index', 'position', 'expected', 'actual']);
      if (res.errorMap !== undefined) list(fields(res.errorMap, `${where}.results[${j}].errorMap`, ['shape', 'lead', 'rowStart', 'colStart', 'rows', 'cols', 'cells']).cells, `${where}.results[${j}].errorMap.cells`);
    });
  });
  // An error map's cells are anonymous array elements: restore their non-finite ratios here.
  return (top.reports as BackendReport[]).map((r) => ({
    ...r,
    results: r.results.map((x) => (x.errorMap ? { ...x, errorMap: { ...x.errorMap, cells: x.errorMap.cells.map((c) => (typeof c === 'string' ? Number(c) : c)) } } : x)),
  }));
}
