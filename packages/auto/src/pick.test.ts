import { defineBackend, isMhaError, MhaErrorCode, type MhaBackend } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { CANDIDATES, type Candidate } from './candidates.js';
import { pickBackend } from './pick.js';

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
    expect(r.reason).toMatch(/best available for node: c reasons; skipped a/);
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
  it('in this repository (Node, every backend installed) picks onnxruntime, and every candidate loads', async () => {
    const r = await pickBackend();
    expect(r.runtime).toBe('node');
    expect(r.name).toBe('ort-attention-op');
    for (const c of CANDIDATES.filter((x) => x.runtimes.includes('node'))) expect((await c.load()).name).toBe(c.name);
  });
});
