import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TorchAnchor } from './results.js';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
/** PyTorch's decode step script (run with a Python that has torch: `/usr/bin/python3` here). */
export const TORCH_SCRIPT = join(PACKAGE, 'scripts', 'decode-torch.py');
/** Its committed output: the anchor a run without `--torch` shows, with its own date. */
export const COMMITTED_TORCH = join(PACKAGE, 'results', 'decode-torch.json');

const NUMBERS = [
  'threads',
  'loadAverage1m',
  'stepLayer512Ms',
  'stepLayer512CpuMs',
  'stepLayer1024Ms',
  'stepLayer1024CpuMs',
  'stepLayerSamples',
  'stepCore1024Ms',
  'stepCore1024CpuMs',
  'gen256LayerTokensPerSecond',
  'gen256CoreTokensPerSecond',
] as const;

/** Reads decode-torch.py's JSON, checking every field the report uses. */
export function parseTorchAnchor(text: string, source: string): TorchAnchor {
  const data = JSON.parse(text) as Record<string, unknown>;
  const bad = NUMBERS.filter((k) => typeof data[k] !== 'number' || !Number.isFinite(data[k]));
  if (typeof data.date !== 'string') bad.unshift('date' as never);
  if (typeof data.torch !== 'string') bad.unshift('torch' as never);
  if (bad.length > 0) throw new Error(`${source} is not decode-torch.py output (missing or not a number: ${bad.join(', ')}); re-run scripts/decode-torch.py`);
  return data as unknown as TorchAnchor;
}

/** The committed anchor, or undefined when there is none. */
export function committedTorchAnchor(file = COMMITTED_TORCH): { source: string; anchor: TorchAnchor } | undefined {
  if (!existsSync(file)) return undefined;
  return { source: 'packages/bench/results/decode-torch.json', anchor: parseTorchAnchor(readFileSync(file, 'utf8'), file) };
}

/** Runs decode-torch.py with `python` now (part of this run); throws with its stderr when it fails. */
export function runTorchAnchor(python: string, timeoutMs: number): { source: string; anchor: TorchAnchor } {
  const dir = mkdtempSync(join(tmpdir(), 'mha-bench-torch-'));
  try {
    const out = join(dir, 'torch.json');
    const r = spawnSync(python, [TORCH_SCRIPT, '--json', out], { encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0 || !existsSync(out)) throw new Error(`${python} ${TORCH_SCRIPT} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    return { source: `this run (${python} scripts/decode-torch.py)`, anchor: parseTorchAnchor(readFileSync(out, 'utf8'), out) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
