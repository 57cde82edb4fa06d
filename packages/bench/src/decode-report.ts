import { STEP_CACHE_LENGTHS } from './decode-cells.js';
import { fmtMs, fmtNum } from './format.js';
import type { DecodeCellResult, DecodeGenMeasurement, DecodeRun, DecodeStepMeasurement, TorchAnchor } from './results.js';
import type { TargetCheck } from './targets.js';

/**
 * Step cost at the longer cache over the shorter one above which a row does not count as growing
 * linearly. A cost `a + b * L` gives a ratio of at most 2 (1,024 / 512); 10% is allowed for noise.
 * Re-running the prefix (the whole module at T = L + 1) gives more than 2.2 at gpt2-layer width.
 */
export const LINEAR_RATIO_LIMIT = 2.2;

/** Issue 14's limits on the module step at 1,024 cached tokens, as a multiple of PyTorch's layer step. */
export const TORCH_LIMITS: readonly { readonly rows: (backend: string) => boolean; readonly label: string; readonly limit: number }[] = [
  { rows: (b) => b.startsWith('ort-') && b !== 'ort-web', label: 'onnxruntime rows', limit: 1.5 },
  { rows: (b) => b === 'wasm' || b === 'wasm-threads', label: 'wasm rows', limit: 1.5 },
  { rows: (b) => b === 'ts', label: 'ts', limit: 3 },
];

type Step = DecodeCellResult & { measurement: DecodeStepMeasurement };
type Gen = DecodeCellResult & { measurement: DecodeGenMeasurement };

/** The measured `decode-step` cells. */
export function stepCells(run: DecodeRun): Step[] {
  return run.cells.filter((c): c is Step => c.status === 'ok' && c.measurement?.kind === 'step');
}

/** The measured `decode-gen` cells. */
export function genCells(run: DecodeRun): Gen[] {
  return run.cells.filter((c): c is Gen => c.status === 'ok' && c.measurement?.kind === 'gen');
}

/** The cache lengths of a run's step cells (the default lengths when none ran). */
export function stepLengths(run: DecodeRun): readonly [number, number] {
  return stepCells(run)[0]?.measurement.cacheLengths ?? STEP_CACHE_LENGTHS;
}

/** "1,024" */
function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** Header of the step table, for the run's cache lengths. */
export function stepHeader(lengths: readonly [number, number]): string[] {
  const [a, b] = lengths.map(n) as [string, string];
  return ['backend', `module step ${a} ms`, `module step ${b} ms`, `${b}/${a}`, `CPU ms (${b})`, 'x PyTorch', `core KvCache ${a} ms`, `core KvCache ${b} ms`, `${b}/${a}`, `core pastKey ${b} ms`, 'rounds'];
}

/** Step table rows: PyTorch's anchor first (when known), then every measured row in run order. */
export function stepRows(run: DecodeRun): string[][] {
  const t = run.torch?.anchor;
  const rows: string[][] = [];
  if (t) {
    rows.push([
      `PyTorch ${t.torch} (anchor)`,
      fmtMs(t.stepLayer512Ms),
      fmtMs(t.stepLayer1024Ms),
      `${fmtNum(t.stepLayer1024Ms / t.stepLayer512Ms)}x`,
      fmtMs(t.stepLayer1024CpuMs),
      '1.00x',
      '',
      fmtMs(t.stepCore1024Ms),
      '',
      fmtMs(t.stepCore1024Ms),
      String(t.stepLayerSamples),
    ]);
  }
  for (const c of stepCells(run)) {
    const m = c.measurement;
    rows.push([
      c.backend,
      fmtMs(m.module[0].medianMs),
      fmtMs(m.module[1].medianMs),
      `${fmtNum(m.module[1].medianMs / m.module[0].medianMs)}x`,
      fmtMs(m.module[1].cpuMedianMs),
      t ? `${fmtNum(m.module[1].medianMs / t.stepLayer1024Ms)}x` : '',
      fmtMs(m.coreCache[0].medianMs),
      fmtMs(m.coreCache[1].medianMs),
      `${fmtNum(m.coreCache[1].medianMs / m.coreCache[0].medianMs)}x`,
      fmtMs(m.corePast.medianMs),
      String(m.rounds),
    ]);
  }
  return rows;
}

/** Header of the generation table. */
export const GEN_HEADER = ['backend', 'module tokens/s', 'module ms/token', 'module CPU ms/token', 'core pastKey tokens/s', 'core ms/token', 'runs'] as const;

/** Generation table rows: PyTorch's anchor first (when known), then every measured row. */
export function genRows(run: DecodeRun): string[][] {
  const t = run.torch?.anchor;
  const rows: string[][] = [];
  if (t) rows.push([`PyTorch ${t.torch} (anchor)`, fmtNum(t.gen256LayerTokensPerSecond), fmtMs(1000 / t.gen256LayerTokensPerSecond), '', fmtNum(t.gen256CoreTokensPerSecond), fmtMs(1000 / t.gen256CoreTokensPerSecond), '3']);
  for (const c of genCells(run)) {
    const m = c.measurement;
    rows.push([c.backend, fmtNum(m.module.tokensPerSecond), fmtMs(m.module.msPerToken), fmtMs(m.module.cpuMsPerToken), fmtNum(m.corePast.tokensPerSecond), fmtMs(m.corePast.msPerToken), String(m.module.runs)]);
  }
  return rows;
}

/** The decode cells that did not run, one line each. */
export function decodeNotMeasured(run: DecodeRun): string[] {
  return run.cells.filter((c) => c.status !== 'ok').map((c) => `${c.cell}: ${c.status === 'failed' ? 'FAILED' : 'skipped'} for ${c.backend}: ${c.reason ?? 'no reason given'}`);
}

/** Where PyTorch's numbers come from, with date, version, machine and load. */
export function torchProvenance(source: string, t: TorchAnchor): string {
  const machine = [t.cpuModel, t.logicalCpus !== undefined ? `${t.logicalCpus} logical CPUs` : undefined].filter(Boolean).join(', ');
  return `PyTorch ${t.torch}${t.python ? ` (Python ${t.python})` : ''}, ${t.threads} thread(s), measured ${t.date.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC')}${machine ? ` on ${machine}` : ''}, 1-minute load average ${t.loadAverage1m}; source: ${source}`;
}

/** Issue 14's decode targets, checked against a run's decode cells. */
export function checkDecodeTargets(run: DecodeRun | undefined): TargetCheck[] {
  const linearTarget = `every row's cached module step grows at most linearly with the cache length (CPU time at the longer cache / the shorter <= ${LINEAR_RATIO_LIMIT})`;
  const steps = run ? stepCells(run) : [];
  const checks: TargetCheck[] = [];
  if (steps.length === 0) {
    checks.push({ target: linearTarget, status: 'not measured', detail: 'no decode-step cell ran' });
  } else {
    // Judged on CPU time (the step's cost): under load a wall median at the longer cache can land on a call the
    // scheduler interrupted while the shorter one did not, which says nothing about the kernel. Wall beside it.
    const [a, b] = steps[0]!.measurement.cacheLengths;
    const ratios = steps.map((c) => {
      const [s, l] = c.measurement.module;
      const wall = l.medianMs / s.medianMs;
      return { backend: c.backend, wall, r: s.cpuMedianMs > 0 && l.cpuMedianMs > 0 ? l.cpuMedianMs / s.cpuMedianMs : wall };
    });
    const over = ratios.filter((x) => x.r > LINEAR_RATIO_LIMIT);
    const worst = ratios.reduce((w, x) => (x.r > w.r ? x : w));
    checks.push({
      target: linearTarget,
      status: over.length === 0 ? 'met' : 'not met',
      detail: `CPU time ${n(b)}/${n(a)} over ${ratios.length} rows (wall in brackets): ${ratios.map((x) => `${x.backend} ${fmtNum(x.r)} (${fmtNum(x.wall)})`).join(', ')}; worst ${worst.backend} ${fmtNum(worst.r)}${over.length ? `; above ${LINEAR_RATIO_LIMIT}: ${over.map((x) => x.backend).join(', ')}` : ''}`,
    });
  }
  const torch = run?.torch;
  for (const { rows, label, limit } of TORCH_LIMITS) {
    const target = `${label}: module step at 1,024 cached tokens within ${limit}x of PyTorch's cached layer step`;
    const mine = steps.filter((c) => rows(c.backend));
    if (!torch) {
      checks.push({ target, status: 'not measured', detail: 'no PyTorch anchor (scripts/decode-torch.py)' });
      continue;
    }
    if (mine.length === 0) {
      checks.push({ target, status: 'not measured', detail: `no decode-step result for the ${label}` });
      continue;
    }
    const t = torch.anchor;
    const parts = mine.map((c) => {
      const m = c.measurement.module[1];
      return { backend: c.backend, ratio: m.medianMs / t.stepLayer1024Ms, text: `${c.backend} ${fmtMs(m.medianMs)} ms = ${fmtNum(m.medianMs / t.stepLayer1024Ms)}x (CPU ${fmtMs(m.cpuMedianMs)} ms = ${fmtNum(m.cpuMedianMs / t.stepLayer1024CpuMs)}x)` };
    });
    const when = torch.source.startsWith('this run') ? 'in this run' : `from ${torch.source}, ${t.date.slice(0, 10)}, not this run`;
    const cpuOk = mine.every((c) => c.measurement.module[1].cpuMedianMs / t.stepLayer1024CpuMs <= limit);
    checks.push({
      target,
      status: parts.every((p) => p.ratio <= limit) ? 'met' : 'not met',
      detail: `${parts.map((p) => p.text).join('; ')}; PyTorch ${fmtMs(t.stepLayer1024Ms)} ms (CPU ${fmtMs(t.stepLayer1024CpuMs)} ms) ${when}; on CPU time ${cpuOk ? 'every row is' : 'not every row is'} within ${limit}x`,
    });
  }
  return checks;
}
