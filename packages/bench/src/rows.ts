import { outputMismatches } from './consistency.js';
import { gflops } from './flops.js';
import { fmtMs, fmtNum } from './format.js';
import { coreInputMs, fastestMedian, type BenchResults, type CoreInputCost } from './results.js';

/** Header of the results table (terminal and Markdown). */
export const ROW_HEADER = ['shape', 'backend', 'median ms', 'min-max ms', 'n', 'GFLOP/s full', 'GFLOP/s half', 'CPU/wall', 'peak RSS MiB', '+RSS MiB', 'x fastest', 'ORT overhead', 'core in ms', 'note'] as const;

/** Which columns hold numbers (right-aligned in Markdown). */
export const ROW_NUMERIC = [false, false, true, true, true, true, true, true, true, true, true, true, true, false];

/** "0.400 (1.0%)": core's validation + copy of x and its share of the median; "0.100 (0.3%, no copy)" when core skips the copy. */
export function coreInputCell(c: CoreInputCost, medianMs: number): string {
  const ms = coreInputMs(c);
  return `${fmtMs(ms)} (${((100 * ms) / medianMs).toFixed(1)}%${c.copied === false ? ', no copy' : ''})`;
}

/**
 * One table row per cell that ran or failed, in run order, as display strings; skipped cells are left to
 * {@link notMeasured}. A failed row says "see below": its reason is listed there too.
 */
export function resultRows(results: BenchResults): string[][] {
  const mismatches = outputMismatches(results.cells);
  return results.cells.filter((c) => c.status !== 'skipped').map((c) => {
    const shape = results.shapes.find((s) => s.name === c.shape);
    const m = c.measurement;
    if (c.status !== 'ok' || !m || !shape) {
      return [c.shape, c.backend, 'FAILED', '', '', '', '', '', '', '', '', '', '', 'see below'];
    }
    const l = m.latency;
    const fastest = fastestMedian(results.cells, c.shape) ?? l.medianMs;
    const causal = shape.flops.half !== shape.flops.full;
    const notes: string[] = [];
    if (l.samples < results.options.minSamples) notes.push(`${l.samples} samples (slow cell)`);
    const dev = mismatches.get(`${c.shape}/${c.backend}`);
    if (dev !== undefined) notes.push(`output sum differs from the other backends by ${dev.toExponential(1)} of its magnitude`);
    return [
      c.shape,
      c.backend,
      fmtMs(l.medianMs),
      `${fmtMs(l.minMs)}-${fmtMs(l.maxMs)}`,
      String(l.samples),
      fmtNum(gflops(shape.flops.full, l.medianMs)),
      causal ? fmtNum(gflops(shape.flops.half, l.medianMs)) : '=',
      fmtNum(m.cpuPerWall),
      fmtNum(m.peakRssMiB),
      fmtNum(m.extraRssMiB),
      `${fmtNum(l.medianMs / fastest)}x`,
      m.ortOverhead ? `${m.ortOverhead.overheadPercent >= 0 ? '+' : ''}${m.ortOverhead.overheadPercent.toFixed(1)}%` : '',
      m.coreInput ? coreInputCell(m.coreInput, l.medianMs) : '',
      notes.join('; '),
    ];
  });
}

/**
 * The cells that did not run, one line per (shape, status, reason) with the backends it applies to:
 * "long-16k: skipped for ort-attention-op, tfjs-wasm: only ts by default ...".
 */
export function notMeasured(results: BenchResults): string[] {
  const groups = new Map<string, string[]>();
  for (const c of results.cells) {
    if (c.status === 'ok') continue;
    const key = JSON.stringify([c.shape, c.status, c.reason ?? 'no reason given']);
    groups.set(key, [...(groups.get(key) ?? []), c.backend]);
  }
  return [...groups].map(([key, backends]) => {
    const [shape, status, reason] = JSON.parse(key) as [string, string, string];
    return `${shape}: ${status === 'failed' ? 'FAILED' : status} for ${backends.join(', ')}: ${reason}`;
  });
}

/** A backend x shape table of medians (ms), for a quick read. */
export function summaryTable(results: BenchResults): { header: string[]; rows: string[][] } {
  const shapes = results.shapes.map((s) => s.name);
  const backends = [...new Set(results.cells.map((c) => c.backend))];
  const rows = backends.map((b) => [
    b,
    ...shapes.map((s) => {
      const c = results.cells.find((x) => x.backend === b && x.shape === s);
      if (!c) return '';
      if (c.status === 'ok' && c.measurement) return fmtMs(c.measurement.latency.medianMs);
      return c.status === 'failed' ? 'FAILED' : '-';
    }),
  ]);
  return { header: ['backend', ...shapes.map((s) => `${s} ms`)], rows };
}
