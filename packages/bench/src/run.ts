import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildRequest, ChildResult } from './child.js';
import type { DecodeCell } from './decode-cells.js';
import type { CellMeasurement, CellResult, DecodeCellResult } from './results.js';
import type { SamplingPolicy } from './sampling.js';
import { defaultSkipReason, type BenchShape } from './shapes.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'child.js');

/** Keep the end of a child's stderr for the failure message. */
const STDERR_TAIL = 1500;

/** Runs one child process and returns its answer, or throws with how it died. */
export async function runChild(req: ChildRequest, timeoutMs: number): Promise<ChildResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mha-bench-'));
  const out = join(dir, 'result.json');
  try {
    let stderr = '';
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve, reject) => {
      const child = spawn(process.execPath, [CHILD, JSON.stringify(req), out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s: string) => {
        stderr = (stderr + s).slice(-STDERR_TAIL);
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, timedOut });
      });
    });
    if (existsSync(out)) return JSON.parse(readFileSync(out, 'utf8')) as ChildResult;
    const how = exit.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    throw new Error(`the child process ${how} without a result${stderr.trim() ? `; stderr: ${stderr.trim().split('\n').slice(-6).join(' | ')}` : ''}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The backend names a module offers (imported in a child, so a broken module cannot crash the run).
 * `timeoutMs` only stops a hung import: loading a backend on a loaded machine can take minutes.
 */
export async function listBackends(module: string, timeoutMs = 600_000): Promise<string[]> {
  const r = await runChild({ kind: 'list', module }, timeoutMs);
  if (!r.ok) throw new Error(r.error);
  if (!('backends' in r)) throw new Error(`listing ${module} returned no backend list`);
  return r.backends;
}

/** A backend to run, and the module it comes from. */
export interface BackendRef {
  readonly module: string;
  readonly backend: string;
}

/** What {@link runBench} needs. */
export interface BenchPlan {
  readonly backends: readonly BackendRef[];
  readonly shapes: readonly BenchShape[];
  readonly policy: SamplingPolicy;
  /** Run cells the shapes skip by default. */
  readonly force: boolean;
  /** A cell still running after this long is killed and reported as failed. */
  readonly cellTimeoutMs: number;
  /** Called before and after each cell (for progress output). */
  readonly onCell?: ((event: 'start' | 'done', cell: { shape: string; backend: string }, result?: CellResult) => void) | undefined;
}

/** Measures every (shape, backend) cell in its own child process, shape by shape. */
export async function runBench(plan: BenchPlan): Promise<CellResult[]> {
  const cells: CellResult[] = [];
  for (const shape of plan.shapes) {
    for (const { module, backend } of plan.backends) {
      const base = { shape: shape.name, backend, module };
      const skip = plan.force ? undefined : defaultSkipReason(shape, backend);
      let result: CellResult;
      if (skip) {
        result = { ...base, status: 'skipped', reason: skip };
      } else {
        plan.onCell?.('start', base);
        try {
          const r = await runChild({ kind: 'cell', module, backend, shape: shape.name, policy: plan.policy }, plan.cellTimeoutMs);
          if (!r.ok) result = { ...base, status: 'failed', reason: r.error };
          else if (!('measurement' in r)) result = { ...base, status: 'failed', reason: 'the child returned no measurement' };
          else result = { ...base, status: 'ok', measurement: r.measurement as CellMeasurement };
        } catch (e) {
          result = { ...base, status: 'failed', reason: (e as Error).message };
        }
      }
      plan.onCell?.('done', base, result);
      cells.push(result);
    }
  }
  return cells;
}

/** What {@link runDecode} needs. */
export interface DecodePlan {
  readonly backends: readonly BackendRef[];
  readonly cells: readonly DecodeCell[];
  readonly policy: SamplingPolicy;
  readonly cellTimeoutMs: number;
  readonly onCell?: ((event: 'start' | 'done', cell: { shape: string; backend: string }, result?: DecodeCellResult) => void) | undefined;
}

/**
 * Measures every (decode cell, backend) in its own child process, cell by cell like the forward shapes.
 * A backend that throws `MHA_UNSUPPORTED` (no core op, so no cache) is recorded as skipped with its message.
 */
export async function runDecode(plan: DecodePlan): Promise<DecodeCellResult[]> {
  const out: DecodeCellResult[] = [];
  for (const cell of plan.cells) {
    for (const { module, backend } of plan.backends) {
      const base = { cell: cell.name, backend, module };
      plan.onCell?.('start', { shape: cell.name, backend });
      let result: DecodeCellResult;
      try {
        const r = await runChild({ kind: 'decode', module, backend, cell: cell.name, policy: plan.policy }, plan.cellTimeoutMs);
        if (!r.ok) result = { ...base, status: r.unsupported ? 'skipped' : 'failed', reason: r.unsupported ? `not supported: ${r.error}` : r.error };
        else if (!('decode' in r)) result = { ...base, status: 'failed', reason: 'the child returned no decode measurement' };
        else result = { ...base, status: 'ok', measurement: r.decode };
      } catch (e) {
        result = { ...base, status: 'failed', reason: (e as Error).message };
      }
      plan.onCell?.('done', { shape: cell.name, backend }, result);
      out.push(result);
    }
  }
  return out;
}
