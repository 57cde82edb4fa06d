import { outputMismatches } from './consistency.js';
import { gflops } from './flops.js';
import { fmtMs, fmtNum } from './format.js';
import { fastestMedian, type BenchResults } from './results.js';

/** Header of the results table (terminal and Markdown). */
export const ROW_HEADER = ['shape', 'backend', 'median ms', 'min-max ms', 'n', 'GFLOP/s full', 'GFLOP/s half', 'CPU/wall', 'peak RSS MiB', '+RSS MiB', 'x fastest', 'ORT overhead', 'note'] as const;

/** Which columns hold numbers (right-aligned in Markdown). */
export const ROW_NUMERIC = [false, false, true, true, true, true, true, true, true, true, true, true, false];

/**
 * One table row per cell, in run order, as display strings. With `reasonsInline: false` a skipped or
 * failed row says "see below" instead of its (long) reason, for a report that lists reasons separately.
 */
export function resultRows(results: BenchResults, { reasonsInline = true }: { reasonsInline?: boolean } = {}): string[][] {
  const mismatches = outputMismatches(results.cells);
  return results.cells.map((c) => {
    const shape = results.shapes.find((s) => s.name === c.shape);
    const m = c.measurement;
    if (c.status !== 'ok' || !m || !shape) {
      return [c.shape, c.backend, c.status === 'skipped' ? 'skipped' : 'FAILED', '', '', '', '', '', '', '', '', '', reasonsInline ? (c.reason ?? '') : 'see below'];
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
      notes.join('; '),
    ];
  });
}
