import { defineBackend, isMhaError, MhaErrorCode, type MhaBackend } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { type Candidate } from './candidates.js';
import { CANDIDATES, KNOWN_BACKENDS, pickBackend } from './index.js';

const fake = (name: string): MhaBackend =>
  defineBackend({ name, runtimes: ['node'], capabilities: [], createKernel: () => ({ forward: () => ({ output: new Float32Array(0) }) }), attention: () => ({ output: new Float32Array(0) }) });
const candidate = (name: string, ok: boolean, runtimes: Candidate['runtimes'] = ['node']): Candidate => ({
  name,
  package: `pkg-${name}`,
  runtimes,
  why: `${name} reasons`,
  load: async () => {
    if (!ok) throw new Error(`Cannot find package 'pkg-${name}'`);
    return fake(name);
  },
});

describe('pickBackend', () => {
  it('takes the first candidate that supports the runtime and loads, and says what it skipped', async () => {
    const r = await pickBackend({ runtime: 'node', candidates: [candidate('a', false), candidate('b', true, ['browser']), candidate('c', true)] });
    expect(r.name).toBe('c');
    expect(r.reason).toMatch(/best available for node: c reasons\. Order: default order.*; skipped a/);
    expect(r.tried).toEqual([{ name: 'a', error: "Cannot find package 'pkg-a'" }]);
  });
  it('honours an explicit preference and never falls back from it', async () => {
    expect((await pickBackend({ prefer: 'c', candidates: [candidate('a', true), candidate('c', true)] })).name).toBe('c');
    await expect(pickBackend({ prefer: 'a', candidates: [candidate('a', false), candidate('c', true)] })).rejects.toSatisfy((e: unknown) => isMhaError(e, MhaErrorCode.BackendUnavailable));
    await expect(pickBackend({ prefer: 'zzz', candidates: [candidate('a', true)] })).rejects.toSatisfy((e: unknown) => isMhaError(e, MhaErrorCode.InvalidOption));
  });
  it('reads MHA_BACKEND when no preference is given', async () => {
    process.env.MHA_BACKEND = 'c';
    try {
      expect((await pickBackend({ candidates: [candidate('a', true), candidate('c', true)] })).name).toBe('c');
    } finally {
      delete process.env.MHA_BACKEND;
    }
  });
  it('fails with the list of what it tried when nothing loads', async () => {
    await expect(pickBackend({ runtime: 'node', candidates: [candidate('a', false)] })).rejects.toThrow(/tried a: Cannot find package/);
  });
  it('in this repository (Node, every backend installed) picks onnxruntime without a shape, and every candidate loads', async () => {
    const r = await pickBackend();
    expect(r.runtime).toBe('node');
    expect(r.name).toBe('ort-attention-op');
    expect(r.reason).toContain('default order');
    for (const c of CANDIDATES.filter((x) => x.runtimes.includes('node'))) expect((await c.load()).name).toBe(c.name);
  });
  it('every backend name of the repository can be preferred, and gives the backend of that name', async () => {
    const names = ['wasm', 'ts', 'ts-threads', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgl', 'tfjs-webgpu', 'ort-attention-op', 'ort-decomposed', 'ort-web'];
    expect(KNOWN_BACKENDS.map((k) => k.name).sort()).toEqual([...names].sort());
    for (const name of names) {
      const r = await pickBackend({ prefer: name });
      expect(r.backend.name, name).toBe(name);
      expect(r.reason).toMatch(/^requested explicitly/);
    }
  });
  it('the browser build does not bundle ort-web (a browser runtime in KNOWN_BACKENDS): not a candidate there, refused by name', async () => {
    expect(KNOWN_BACKENDS.find((k) => k.name === 'ort-web')?.runtimes).toContain('browser');
    const browser = await import('./index.browser.js');
    expect(browser.CANDIDATES.map((c) => c.name)).not.toContain('ort-web');
    await expect(browser.pickBackend({ prefer: 'ort-web', runtime: 'browser' })).rejects.toSatisfy((e: unknown) => isMhaError(e, MhaErrorCode.InvalidOption));
  });
  it('orders by measured speed for the shape: wasm on the tiny book shape, onnxruntime on a GPT-2 layer, and says why', async () => {
    // The numbers are packages/bench/results/2026-12-01.json's (src/measured.ts).
    const book = await pickBackend({ config: { dIn: 3, dOut: 2 }, shape: { batch: 2, seqLen: 6 } });
    expect(book.name).toBe('wasm');
    expect(book.reason).toMatch(/1\.10 kFLOP per forward is closest to the benchmark shape 'book'.*median was wasm 0\.00356 ms, ts 0\.0049 ms, ts-threads 0\.00616 ms, ort-attention-op 0\.0156 ms/);
    expect(book.reason).toContain('packages/bench/results/');
    const gpt2 = await pickBackend({ config: { dIn: 768, dOut: 768 }, shape: { batch: 1, seqLen: 1024 } });
    expect(gpt2.name).toBe('ort-attention-op');
    expect(gpt2.reason).toMatch(/closest to the benchmark shape 'gpt2-layer'/);
    // Far beyond every shape: the largest shape that measured them all decides, not one run for ts alone.
    const huge = await pickBackend({ config: { dIn: 256, dOut: 256 }, shape: { batch: 1, seqLen: 65536 } });
    expect(huge.name).toBe('ort-attention-op');
  });
  it('chooses among given backends without importing anything (backends option)', async () => {
    const r = await pickBackend({ backends: [fake('mine'), fake('ts')], config: { dIn: 3, dOut: 2 }, shape: { batch: 1, seqLen: 4 } });
    expect(r.name).toBe('ts');
    expect((await pickBackend({ backends: [fake('mine')] })).name).toBe('mine');
    expect((await pickBackend({ backends: [fake('mine'), fake('ts')], prefer: 'mine' })).name).toBe('mine');
  });
});
