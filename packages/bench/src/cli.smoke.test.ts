import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DECODE_CONFIG, STEP_CACHE_LENGTHS } from './decode-cells.js';
import { shapeFlops } from './flops.js';
import { RESULTS_FORMAT, parseResults } from './results.js';
import { shapeByName } from './shapes.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'mha-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** Kills a stuck child; below vitest's own 10-minute hang guard (vitest.config.ts), never a speed limit. */
const HANG_GUARD_MS = 540_000;

// A smoke test of the harness, not a benchmark: it checks the run completes and the JSON is well formed,
// never how fast anything is.
describe('mha-bench CLI (smoke)', () => {
  it('runs the ts backend on the book shape and writes well-formed JSON and Markdown', () => {
    expect(existsSync(CLI), `${CLI} missing: build the package first`).toBe(true);
    const json = join(dir, 'r.json');
    const md = join(dir, 'r.md');
    const r = spawnSync(process.execPath, [CLI, '--shapes', 'book', '--only', 'ts', '--budget', '100', '--json', json, '--markdown-file', md], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    expect(r.status, r.stderr).toBe(0);
    const results = parseResults(readFileSync(json, 'utf8'), json);
    expect(results.format).toBe(RESULTS_FORMAT);
    expect(results.shapes.map((s) => s.name)).toEqual(['book']);
    expect(results.shapes[0]!.flops).toEqual(shapeFlops(shapeByName('book')));
    expect(results.cells).toHaveLength(1);
    const cell = results.cells[0]!;
    expect(cell).toMatchObject({ shape: 'book', backend: 'ts', status: 'ok' });
    const m = cell.measurement!;
    expect(m.latency.samples).toBeGreaterThanOrEqual(results.options.minSamples);
    expect(m.latency.minMs).toBeLessThanOrEqual(m.latency.medianMs);
    expect(m.latency.medianMs).toBeLessThanOrEqual(m.latency.maxMs);
    expect(m.peakRssMiB).toBeGreaterThanOrEqual(m.baseRssMiB);
    expect(Number.isFinite(m.outputSum)).toBe(true);
    expect(m.ortOverhead).toBeUndefined();
    // ts reads inputs synchronously: core validates x but does not copy it.
    expect(m.coreInput?.copied).toBe(false);
    expect(m.coreInput!.validateMs).toBeGreaterThanOrEqual(0);
    expect(r.stdout).toMatch(/, no copy\)/);
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.versions['@mha/backend-ts']).toBeDefined();
    expect(r.stdout).toMatch(/book\s+ts\s/);
    expect(readFileSync(md, 'utf8')).toMatch(/^# Benchmarks/);
  });

  it('compares a results file with itself: every ratio is 1', () => {
    const json = join(dir, 'r.json');
    const r = spawnSync(process.execPath, [CLI, '--results', json, '--compare', json], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/book\s+ts\s+\S+\s+\S+\s+1\.00x\s+same/);
  });

  it('runs the decode-step cell on ts and renders it with the forward results of another file', () => {
    const json = join(dir, 'd.json');
    const md = join(dir, 'd.md');
    const r = spawnSync(process.execPath, [CLI, '--shapes', 'decode-step', '--only', 'ts', '--budget', '0', '--min-samples', '1', '--json', json], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    expect(r.status, r.stderr).toBe(0);
    const results = parseResults(readFileSync(json, 'utf8'), json);
    expect(results.cells).toEqual([]);
    expect(results.decode?.config).toEqual(DECODE_CONFIG);
    expect(results.decode?.cells).toHaveLength(1);
    const cell = results.decode!.cells[0]!;
    expect(cell).toMatchObject({ cell: 'decode-step', backend: 'ts', status: 'ok' });
    const m = cell.measurement!;
    if (m.kind !== 'step') throw new Error(`expected a step measurement, got ${m.kind}`);
    expect(m.cacheLengths).toEqual(STEP_CACHE_LENGTHS);
    expect(m.rounds).toBeGreaterThanOrEqual(1);
    for (const t of [...m.module, ...m.coreCache, m.corePast]) {
      expect(t.samples).toBe(m.rounds);
      expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
      expect(t.medianMs).toBeLessThanOrEqual(t.maxMs);
    }
    expect(r.stdout).toMatch(/module step 512 ms/);
    expect(r.stdout).toMatch(/target \(issue 14, decode\)/);

    const merged = spawnSync(process.execPath, [CLI, '--results', join(dir, 'r.json'), '--results', json, '--markdown-file', md], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    expect(merged.status, merged.stderr).toBe(0);
    const text = readFileSync(md, 'utf8');
    expect(text).toMatch(/\| book \| ts \|/);
    expect(text).toMatch(/## Decode \(issue 14\)[\s\S]*\| ts \| [\d.]+ \| [\d.]+ \|/);
    expect(text).toMatch(/## WebGPU: what the kernel design should reach on a GPU/);
  });

  it('rejects an unknown shape with a usage error', () => {
    const r = spawnSync(process.execPath, [CLI, '--shapes', 'nope', '--list'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown shape 'nope'/);
  });
});

describe('mha-bench --list: the ort-web row', () => {
  const listed = (...extra: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--list', ...extra], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter((l) => l.startsWith('backend ')).map((l) => l.split(/\s+/)[1]);
  };
  it('comes from @mha/backend-onnxruntime/web, and --skip-ort-web leaves it out', () => {
    const all = listed();
    expect(all.filter((b) => b === 'ort-web')).toHaveLength(1);
    expect(listed('--skip-ort-web')).toEqual(all.filter((b) => b !== 'ort-web'));
  });
});
