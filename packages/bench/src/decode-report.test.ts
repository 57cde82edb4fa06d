import { describe, expect, it } from 'vitest';
import { DECODE_CONFIG } from './decode-cells.js';
import { checkDecodeTargets, genRows, LINEAR_RATIO_LIMIT, stepRows } from './decode-report.js';
import { RESULTS_FORMAT, mergeResults, type BenchResults, type DecodeCellResult, type DecodeRun, type StepTiming, type TorchAnchor } from './results.js';
import { DEFAULT_POLICY } from './sampling.js';

const t = (ms: number, cpu = ms): StepTiming => ({ medianMs: ms, cpuMedianMs: cpu, minMs: ms, maxMs: ms, samples: 10 });

function step(backend: string, at512: number, at1024: number | StepTiming): DecodeCellResult {
  return {
    cell: 'decode-step',
    backend,
    module: 'm',
    status: 'ok',
    measurement: { kind: 'step', cacheLengths: [512, 1024], module: [t(at512), typeof at1024 === 'number' ? t(at1024) : at1024], coreCache: [t(1), t(2)], corePast: t(3), rounds: 10 },
  };
}

const TORCH: TorchAnchor = {
  date: '2026-12-01T18:00:00Z',
  torch: '1.13.0a0',
  threads: 2,
  loadAverage1m: 3,
  stepLayer512Ms: 1.5,
  stepLayer512CpuMs: 1.5,
  stepLayer1024Ms: 2,
  stepLayer1024CpuMs: 2,
  stepLayerSamples: 100,
  stepCore1024Ms: 0.5,
  stepCore1024CpuMs: 0.5,
  gen256LayerTokensPerSecond: 500,
  gen256CoreTokensPerSecond: 4000,
};

function decodeRun(cells: DecodeCellResult[], torch: TorchAnchor | null = TORCH, source = 'this run (python)'): DecodeRun {
  return { startedAt: '2026-12-01T18:00:00.000Z', loadAverageStart: 1, config: DECODE_CONFIG, cells, torch: torch ? { source, anchor: torch } : undefined };
}

const status = (run: DecodeRun, prefix: string) => checkDecodeTargets(run).find((c) => c.target.startsWith(prefix))!.status;

describe('decode targets (issue 14)', () => {
  it('judges linear growth from the 1,024 / 512 ratio of every measured row', () => {
    expect(status(decodeRun([step('ts', 10, 10 * LINEAR_RATIO_LIMIT), step('wasm', 1, 1.1)]), 'every row')).toBe('met');
    const over = checkDecodeTargets(decodeRun([step('ts', 10, 10 * LINEAR_RATIO_LIMIT * 1.01), step('wasm', 1, 1.1)]))[0]!;
    expect(over.status).toBe('not met');
    expect(over.detail).toMatch(/above 2\.2: ts$/);
    expect(status(decodeRun([]), 'every row')).toBe('not measured');
  });

  it('judges linear growth on CPU time, with the wall ratio beside it', () => {
    // Wall 3x (a scheduler-interrupted median), CPU 1.5x: linear.
    const c = checkDecodeTargets(decodeRun([step('ts', 10, t(30, 15))]))[0]!;
    expect(c.status).toBe('met');
    expect(c.detail).toContain('ts 1.50 (3.00)');
    expect(checkDecodeTargets(decodeRun([step('ts', 10, t(15, 30))]))[0]!.status).toBe('not met');
  });

  it('compares ORT, wasm and ts rows with PyTorch\'s layer step at their own limits', () => {
    // PyTorch 2 ms: ORT and wasm limit 3 ms, ts 6 ms.
    const run = decodeRun([step('ort-attention-op', 2, 3), step('ort-decomposed-1t', 2, 2.9), step('wasm', 2, 3.1), step('ts', 3, 6), step('tfjs-cpu', 50, 90)]);
    expect(status(run, 'onnxruntime rows')).toBe('met');
    expect(status(run, 'wasm rows')).toBe('not met');
    expect(status(run, 'ts:')).toBe('met');
    expect(status(decodeRun([step('ts', 3, 6.01)]), 'ts:')).toBe('not met');
    const ort = checkDecodeTargets(run).find((c) => c.target.startsWith('onnxruntime rows'))!;
    expect(ort.detail).toContain('ort-attention-op 3.00 ms = 1.50x');
    expect(ort.detail).toContain('in this run');
    expect(ort.detail).not.toContain('tfjs');
  });

  it('gives the CPU-time ratios and their verdict beside the wall-time one', () => {
    const cell = step('ts', 3, t(7, 5)); // wall 3.5x PyTorch's 2 ms (not met), CPU 2.5x (within 3x)
    const c = checkDecodeTargets(decodeRun([cell])).find((x) => x.target.startsWith('ts:'))!;
    expect(c.status).toBe('not met');
    expect(c.detail).toContain('ts 7.00 ms = 3.50x (CPU 5.00 ms = 2.50x)');
    expect(c.detail).toMatch(/on CPU time every row is within 3x$/);
  });

  it('says where PyTorch\'s numbers come from when they are not from this run, and "not measured" without them', () => {
    const committed = checkDecodeTargets(decodeRun([step('ts', 3, 4)], TORCH, 'packages/bench/results/decode-torch.json'));
    expect(committed.find((c) => c.target.startsWith('ts:'))!.detail).toContain('2026-12-01, not this run');
    expect(status(decodeRun([step('ts', 3, 4)], null), 'ts:')).toBe('not measured');
    expect(status(decodeRun([step('ts', 3, 4)]), 'wasm rows')).toBe('not measured');
  });

  it('leaves skipped and failed cells out of the tables and the targets', () => {
    const run = decodeRun([step('ts', 1, 1.5), { cell: 'decode-step', backend: 'ort-web', module: 'm', status: 'skipped', reason: 'not supported' }, { cell: 'decode-step', backend: 'wasm', module: 'm', status: 'failed', reason: 'boom' }]);
    expect(stepRows(run).map((r) => r[0])).toEqual(['PyTorch 1.13.0a0 (anchor)', 'ts']);
    expect(status(run, 'wasm rows')).toBe('not measured');
    expect(genRows(run).map((r) => r[0])).toEqual(['PyTorch 1.13.0a0 (anchor)']);
  });
});

describe('mergeResults', () => {
  const base = (cells: BenchResults['cells'], decode?: DecodeRun): BenchResults => ({
    format: RESULTS_FORMAT,
    startedAt: '2026-12-01T17:55:00.000Z',
    machine: { cpuModel: 'x', logicalCpus: 2, availableParallelism: 2, totalMemoryGiB: 1, os: 'linux', node: 'v20', loadAverageStart: 1, versions: {} },
    options: DEFAULT_POLICY,
    shapes: [],
    cells,
    ...(decode ? { decode } : {}),
  });
  const forwardCell = { shape: 'book', backend: 'ts', module: 'm', status: 'skipped' as const, reason: 'r' };

  it('takes the forward part of one file and the decode part of another', () => {
    const d = decodeRun([step('ts', 1, 2)]);
    const merged = mergeResults([base([forwardCell]), base([], d)]);
    expect(merged.cells).toEqual([forwardCell]);
    expect(merged.decode).toBe(d);
    expect(merged.startedAt).toBe('2026-12-01T17:55:00.000Z');
  });

  it('refuses two files with forward cells, or two with decode cells', () => {
    expect(() => mergeResults([base([forwardCell]), base([forwardCell])])).toThrow(/2 results files have forward cells/);
    expect(() => mergeResults([base([], decodeRun([])), base([], decodeRun([]))])).toThrow(/2 results files have decode cells/);
  });
});
