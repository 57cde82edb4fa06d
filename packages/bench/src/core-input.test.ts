import { defineBackend, randomTensor, resolveConfig, type BackendDefinition, type MhaBackend } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { coreCopiesInputs, measureCoreInput } from './core-input.js';
import { coreInputCell } from './rows.js';

const definition: BackendDefinition = {
  name: 'probe',
  runtimes: ['node'],
  capabilities: [],
  createKernel: () => ({ forward: () => ({ output: new Float32Array(0) }) }),
  attention: () => ({ output: new Float32Array(0) }),
};

describe('core input cost (pnpm bench, column "core in ms")', () => {
  it('knows whether core copies the input: by default yes, not with readsInputsSynchronously, unknown for a hand-made backend', () => {
    expect(coreCopiesInputs(defineBackend(definition))).toBe(true);
    expect(coreCopiesInputs(defineBackend({ ...definition, readsInputsSynchronously: true }))).toBe(false);
    expect(coreCopiesInputs({ ...defineBackend(definition) })).toBe(true); // a spread keeps the definition
    expect(coreCopiesInputs({ name: 'hand-made' } as unknown as MhaBackend)).toBeUndefined();
  });

  it('measures validation and copy of the cell input as medians in ms (no timing assertion)', () => {
    const config = resolveConfig({ dIn: 8, heads: 2, headDim: 4 });
    const c = measureCoreInput(defineBackend(definition), config, randomTensor([1, 16, 8], 1));
    expect(c.copied).toBe(true);
    for (const ms of [c.validateMs, c.copyMs]) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
  });

  it('formats the cell: validation + copy when core copies, validation alone otherwise, and the share of the median', () => {
    expect(coreInputCell({ validateMs: 0.1, copyMs: 0.3, copied: true }, 40)).toBe('0.400 (1.0%)');
    expect(coreInputCell({ validateMs: 0.1, copyMs: 0.3, copied: false }, 40)).toBe('0.100 (0.3%, no copy)');
    expect(coreInputCell({ validateMs: 0.1, copyMs: 0.3, copied: undefined }, 40)).toBe('0.400 (1.0%)');
  });
});
