/**
 * The child process of the bench: `node child.js <request-json> <result-file>`. It either lists the
 * backends of a module or measures one (backend, shape) cell, and writes a {@link ChildResult} to the
 * result file. Running each cell in its own process makes peak memory per cell and keeps a crash
 * (out of memory, a native abort) from taking the whole run down.
 */
import { writeFileSync } from 'node:fs';
import { MhaErrorCode } from '@mha/core';
import { loadBackends } from './discover.js';
import { measureCell } from './measure-cell.js';
import { measureDecodeGen, measureDecodeStep } from './measure-decode.js';
import type { CellMeasurement, DecodeGenMeasurement, DecodeStepMeasurement } from './results.js';
import type { SamplingPolicy } from './sampling.js';
import { shapeByName } from './shapes.js';

/** What the parent asks a child to do. */
export type ChildRequest =
  | { readonly kind: 'list'; readonly module: string }
  | { readonly kind: 'cell'; readonly module: string; readonly backend: string; readonly shape: string; readonly policy: SamplingPolicy }
  | { readonly kind: 'decode'; readonly module: string; readonly backend: string; readonly cell: string; readonly policy: SamplingPolicy };

/** What a child writes back. */
export type ChildResult =
  | { readonly ok: true; readonly backends: string[] }
  | { readonly ok: true; readonly measurement: CellMeasurement }
  | { readonly ok: true; readonly decode: DecodeStepMeasurement | DecodeGenMeasurement }
  /** `unsupported`: the backend threw `MHA_UNSUPPORTED` (e.g. a row with no core op cannot decode). */
  | { readonly ok: false; readonly error: string; readonly unsupported?: boolean };

async function handle(req: ChildRequest): Promise<ChildResult> {
  const backends = await loadBackends(req.module);
  if (req.kind === 'list') return { ok: true, backends: backends.map((b) => b.name) };
  const backend = backends.find((b) => b.name === req.backend);
  if (!backend) throw new Error(`${req.module} has no backend '${req.backend}' (it has ${backends.map((b) => b.name).join(', ')})`);
  try {
    if (req.kind === 'decode') {
      if (req.cell === 'decode-step') return { ok: true, decode: await measureDecodeStep(backend, req.policy) };
      if (req.cell === 'decode-gen') return { ok: true, decode: await measureDecodeGen(backend, req.policy) };
      throw new Error(`unknown decode cell '${req.cell}'`);
    }
    return { ok: true, measurement: await measureCell(backend, shapeByName(req.shape), req.policy) };
  } finally {
    await backend.dispose?.();
  }
}

async function main(): Promise<void> {
  const [requestJson, resultFile] = process.argv.slice(2);
  if (!requestJson || !resultFile) throw new Error('usage: child.js <request-json> <result-file>');
  let result: ChildResult;
  try {
    result = await handle(JSON.parse(requestJson) as ChildRequest);
  } catch (e) {
    const unsupported = (e as { code?: unknown } | null)?.code === MhaErrorCode.Unsupported;
    result = { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), ...(unsupported ? { unsupported } : {}) };
  }
  writeFileSync(resultFile, JSON.stringify(result));
  // Some runtimes keep worker threads alive; the answer is written, so leave now.
  process.exit(0);
}

await main();
