import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Candidate } from './candidates.js';
import { forwardFlops, rankCandidates, type Measured } from './rank.js';

const c = (name: string): Candidate => ({ name, package: 'p', runtimes: ['node'], why: '', load: async () => ({}) as never });
const MEASURED: Measured = {
  source: 'test data',
  date: '2026-01-01',
  runtime: 'node',
  shapes: [
    { name: 'tiny', description: 'T', flops: 1e3, ms: { a: 2, b: 1 } },
    { name: 'mid', description: 'M', flops: 1e7, ms: { a: 1, b: 2 } },
    { name: 'lonely', description: 'L', flops: 1e11, ms: { b: 5 } },
  ],
};

describe('forwardFlops', () => {
  it('counts as the benchmark does (its published FLOPs for book, small and gpt2-layer)', () => {
    expect(forwardFlops({ batch: 2, seqLen: 6, config: { dIn: 3, dOut: 2 } })).toBe(1104);
    expect(forwardFlops({ batch: 1, seqLen: 128, config: { dIn: 128, dOut: 128 } })).toBe(25165824);
    expect(forwardFlops({ batch: 1, seqLen: 1024, config: { dIn: 768, dOut: 768 } })).toBe(8053063680);
    expect(forwardFlops({ batch: 1, seqLen: 4, config: { dIn: 2, dOut: 2, outProj: false } })).toBe(2 * 4 * 2 * 2 * 3 + 4 * 16 * 2);
  });
});

describe('rankCandidates', () => {
  it('orders by the nearest shape (log FLOPs), unmeasured candidates last in their order', () => {
    expect(rankCandidates([c('x'), c('a'), c('b')], 'node', { batch: 1, seqLen: 2, config: { dIn: 4, dOut: 4 } }, MEASURED).ordered.map((k) => k.name)).toEqual(['b', 'a', 'x']);
    const mid = rankCandidates([c('x'), c('b'), c('a')], 'node', { batch: 1, seqLen: 256, config: { dIn: 64, dOut: 64 } }, MEASURED);
    expect(mid.ordered.map((k) => k.name)).toEqual(['a', 'b', 'x']);
    expect(mid.basis).toMatch(/closest to the benchmark shape 'mid'.*a 1 ms, b 2 ms \(test data, 2026-01-01\)/);
  });
  it('ignores a shape that measured fewer of the candidates than others did', () => {
    const huge = rankCandidates([c('a'), c('b')], 'node', { batch: 1, seqLen: 1 << 20, config: { dIn: 256, dOut: 256 } }, MEASURED);
    expect(huge.ordered.map((k) => k.name)).toEqual(['a', 'b']);
    expect(huge.basis).toContain("'mid'");
  });
  it('keeps the given order without a workload or in another runtime, and says so', () => {
    const w = { batch: 1, seqLen: 2, config: { dIn: 4, dOut: 4 } };
    expect(rankCandidates([c('a'), c('b')], 'node', undefined, MEASURED)).toMatchObject({ ordered: [{ name: 'a' }, { name: 'b' }], basis: expect.stringMatching(/default order/) });
    expect(rankCandidates([c('a'), c('b')], 'browser', w, MEASURED)).toMatchObject({ ordered: [{ name: 'a' }, { name: 'b' }], basis: expect.stringMatching(/measured in node only/) });
  });
});

describe('src/measured.ts', () => {
  it('is what scripts/measured.mjs makes of the newest benchmark results (regenerate after `pnpm bench --json`)', async () => {
    // @ts-expect-error: a plain .mjs script without declarations
    const { measuredModule } = (await import('../scripts/measured.mjs')) as { measuredModule(): string };
    expect(readFileSync(new URL('./measured.ts', import.meta.url), 'utf8')).toBe(measuredModule());
  });
});

describe('browser entry point', () => {
  it('offers the browser-capable backends only, loads them with literal imports, and names nothing Node-only', async () => {
    const browser = await import('./index.browser.js');
    expect(browser.CANDIDATES.map((k) => k.name)).toEqual(['wasm', 'ts', 'ts-threads', 'tfjs-wasm', 'tfjs-cpu', 'tfjs-webgl', 'tfjs-webgpu']);
    const r = await browser.pickBackend({ runtime: 'browser' });
    expect(r.name).toBe('wasm');
    const source = readFileSync(new URL('./index.browser.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/import\(['"]@mha\/backend-onnxruntime|onnxruntime-node['"]/);
  });
});
