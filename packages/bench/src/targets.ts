import { resolveConfig } from '@mha/core';
import { fmtMs, fmtNum } from './format.js';
import { measured, type BenchResults, type CellResult, type CellMeasurement } from './results.js';

/** One target of issue 8 and how this run did against it. */
export interface TargetCheck {
  readonly target: string;
  readonly status: 'met' | 'not met' | 'not measured';
  readonly detail: string;
}

type Ok = CellResult & { measurement: CellMeasurement };

function cell(results: BenchResults, shape: string, backend: string): Ok | undefined {
  return measured(results.cells).find((c) => c.shape === shape && c.backend === backend);
}

function latencyTarget(results: BenchResults, target: string, shape: string, backend: string, limitMs: number, extra = ''): TargetCheck {
  const c = cell(results, shape, backend);
  if (!c) return { target, status: 'not measured', detail: `no ${backend} result on ${shape}` };
  const ms = c.measurement.latency.medianMs;
  return { target, status: ms <= limitMs ? 'met' : 'not met', detail: `median ${fmtMs(ms)} ms (limit ${fmtMs(limitMs)} ms)${extra}` };
}

const MiB = 2 ** 20;

/** The targets of issue 8, checked against a run. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [
    latencyTarget(results, 'backend-ts gpt2-layer <= 1,000 ms, single-threaded', 'gpt2-layer', 'ts', 1000),
    latencyTarget(results, 'tfjs-wasm gpt2-layer <= 700 ms', 'gpt2-layer', 'tfjs-wasm', 700),
  ];

  const ort = measured(results.cells).filter((c) => (c.shape === 'small' || c.shape === 'gpt2-layer') && c.measurement.ortOverhead);
  if (ort.length === 0) {
    checks.push({ target: 'backend-onnxruntime overhead over a bare InferenceSession.run <= 10% (small, gpt2-layer)', status: 'not measured', detail: 'no onnxruntime result on small or gpt2-layer' });
  } else {
    const parts = ort.map((c) => `${c.backend} ${c.shape} ${c.measurement.ortOverhead!.overheadPercent.toFixed(1)}%`);
    const worst = Math.max(...ort.map((c) => c.measurement.ortOverhead!.overheadPercent));
    checks.push({ target: 'backend-onnxruntime overhead over a bare InferenceSession.run <= 10% (small, gpt2-layer)', status: worst <= 10 ? 'met' : 'not met', detail: parts.join(', ') });
  }

  const attn = cell(results, 'gpt2-layer', 'ort-attention-op');
  const threads = attn?.measurement.threads ? `; threads: ${attn.measurement.threads} on ${results.machine.logicalCpus} logical CPUs, CPU/wall ${fmtNum(attn.measurement.cpuPerWall)}` : '';
  checks.push(latencyTarget(results, 'ort-attention-op gpt2-layer <= 35 ms with 2 threads', 'gpt2-layer', 'ort-attention-op', 35, threads));

  checks.push(memoryTarget(results));
  return checks;
}

/**
 * backend-ts's memory target, read strictly: on `long` and `long-16k`, its +RSS minus the harness floor
 * (its +RSS on `book`, where the data is a few bytes: runtime, JIT and sampling garbage) must stay below
 * ONE T x T float32 matrix, a single head's scores, which a backend that materialises H x T x T (or even
 * one head's T x T) cannot do. The detail gives the multiple of B x T x dOut float32, which stays bounded
 * for an O(T x D) backend.
 */
function memoryTarget(results: BenchResults): TargetCheck {
  const target = 'backend-ts never materialises H x T x T without attention weights: extra peak RSS O(T x D) (long, long-16k)';
  const floor = cell(results, 'book', 'ts')?.measurement.extraRssMiB ?? 0;
  const parts = [`harness floor (ts on book) +${fmtNum(floor)} MiB`];
  let met = true;
  for (const shapeName of ['long', 'long-16k']) {
    const c = cell(results, shapeName, 'ts');
    const shape = results.shapes.find((s) => s.name === shapeName);
    if (!c || !shape) return { target, status: 'not measured', detail: `no ts result on ${shapeName}` };
    const cfg = resolveConfig(shape.config);
    const oneHead = (shape.tokens * shape.tokens * 4) / MiB;
    const tD = (shape.batch * shape.tokens * cfg.dOut * 4) / MiB;
    const extra = c.measurement.extraRssMiB;
    const n = Math.max(0, extra - floor);
    if (n >= oneHead) met = false;
    parts.push(
      `${shapeName}: +${fmtNum(extra)} MiB, ${fmtNum(n)} over the floor = ${fmtNum(n / tD)} x B*T*dOut float32 (${fmtNum(tD)} MiB); limit one T x T float32 ${fmtNum(oneHead)} MiB (H x T x T: ${fmtNum(oneHead * cfg.heads * shape.batch)} MiB)`,
    );
  }
  return { target, status: met ? 'met' : 'not met', detail: parts.join('; ') };
}
