// Backend-level behaviour: options, the allocator, diagnostics returning to baseline, memory that grows
// with T * D and not T * T, and the first core-op call reading its inputs before it awaits compilation.
import { initWeights, isMhaError, randomTensor, referenceAttention, resolveConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { Arena, type WasmMemory } from './arena.js';
import { createWasmBackend, wasmBackend } from './index.js';
import { expectClose } from './test-support/compare.js';

function memory(pages = 1): WasmMemory {
  let buffer = new ArrayBuffer(pages * 65536);
  return {
    get buffer() {
      return buffer;
    },
    grow(n: number) {
      const old = buffer.byteLength / 65536;
      const next = new ArrayBuffer(buffer.byteLength + n * 65536);
      new Uint8Array(next).set(new Uint8Array(buffer));
      buffer = next;
      return old;
    },
  };
}

describe('Arena', () => {
  it('aligns to 16 bytes, reuses freed blocks, merges neighbours and lowers the top', () => {
    const a = new Arena(memory(), 100);
    const p1 = a.alloc(10);
    const p2 = a.alloc(40);
    const p3 = a.alloc(16);
    expect([p1 % 16, p2 % 16, p3 % 16]).toEqual([0, 0, 0]);
    expect(p1).toBeGreaterThanOrEqual(100);
    expect(new Set([p1, p2, p3]).size).toBe(3);
    expect(a.allocatedBytes).toBe(16 + 48 + 16);
    a.free(p1);
    a.free(p2);
    // p1 and p2 merged into one 64-byte block: a 60-byte request fits at p1.
    expect(a.alloc(60)).toBe(p1);
    a.free(p1);
    a.free(p3);
    expect(a.allocatedBytes).toBe(0);
    // Everything free: the top is back at the base, so the next block starts there again.
    expect(a.alloc(1000)).toBe(p1);
  });

  it('grows the memory when the top passes its end', () => {
    const m = memory(1);
    const a = new Arena(m, 0);
    const p = a.alloc(3 * 65536);
    expect(m.buffer.byteLength).toBeGreaterThanOrEqual(p + 3 * 65536);
  });

  it('ignores double frees and unknown pointers', () => {
    const a = new Arena(memory(), 0);
    const p = a.alloc(32);
    a.free(p);
    a.free(p);
    a.free(12345);
    expect(a.allocatedBytes).toBe(0);
  });
});

describe('createWasmBackend', () => {
  it('refuses unknown and mistyped options with the field and value', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isMhaError(e) ? [(e as { code: string }).code, (e as { field: string }).field] : ['not an MhaError'];
      }
      return ['no error'];
    };
    expect(code(() => createWasmBackend({ threads: 0 }))).toEqual(['MHA_INVALID_OPTION', 'options.threads']);
    expect(code(() => createWasmBackend({ bogus: 1 } as never))).toEqual(['MHA_INVALID_OPTION', 'options.bogus']);
    expect(code(() => createWasmBackend({ threads: 2, simd: 'relaxed' }))).toEqual(['MHA_INVALID_OPTION', 'options.simd']);
    expect(code(() => createWasmBackend({ simd: 'avx' } as never))).toEqual(['MHA_INVALID_OPTION', 'options.simd']);
    expect(code(() => createWasmBackend({ name: '' }))).toEqual(['MHA_INVALID_TYPE', 'options.name']);
    expect(code(() => createWasmBackend(null as never))).toEqual(['MHA_INVALID_TYPE', 'options']);
    expect(code(() => createWasmBackend({ threads: 2, workerUrl: 3 } as never))).toEqual(['MHA_INVALID_TYPE', 'options.workerUrl']);
    expect(code(() => createWasmBackend({ threads: 2, workerUrl: new URL('https://example.com/w.js') }))).toEqual(['no error']);
  });

  it('is named wasm, runs everywhere and declares every capability', () => {
    expect(wasmBackend.name).toBe('wasm');
    expect([...wasmBackend.runtimes].sort()).toEqual(['browser', 'bun', 'deno', 'edge', 'node']);
    expect([...wasmBackend.capabilities].sort()).toEqual(['attn-mask', 'cross-attention', 'grouped-query', 'softcap', 'value-head-dim']);
  });
});

describe('diagnostics and memory', () => {
  it('counts live modules and bytes, back to the baseline after dispose', async () => {
    const backend = createWasmBackend({ simd: 'simd' });
    expect(backend.diagnostics()).toEqual({ modules: 0, allocatedBytes: 0, wasmMemoryBytes: 0, workers: 0 });
    const config = resolveConfig({ dIn: 32, heads: 4, headDim: 8, causal: true, qkvBias: true });
    const m1 = await backend.createModule(config, initWeights(config, 1));
    const m2 = await backend.createModule(config, initWeights(config, 2));
    const held = backend.diagnostics();
    expect(held.modules).toBe(2);
    // Packed weights: wq|wk|wv (32 x 96) and wo (32 x 32) floats per module, plus biases.
    expect(held.allocatedBytes).toBeGreaterThanOrEqual(2 * (32 * 96 + 32 * 32) * 4);
    await m1.forward(randomTensor([2, 16, 32], 3), { returnAttentionWeights: true });
    // A forward frees everything it allocated.
    expect(backend.diagnostics().allocatedBytes).toBe(held.allocatedBytes);
    await m1.dispose();
    await m2.dispose();
    await m2.dispose();
    expect(backend.diagnostics()).toMatchObject({ modules: 0, allocatedBytes: 0 });
    await backend.dispose();
    expect(backend.diagnostics()).toEqual({ modules: 0, allocatedBytes: 0, wasmMemoryBytes: 0, workers: 0 });
    // Usable again after backend.dispose(): a new instance is made on demand.
    const q = randomTensor([1, 1, 3, 4], 5);
    const r = await backend.attention(q, q, q);
    expectClose(r.output.data, referenceAttention(q, q, q).output.data, 'after backend.dispose()');
  });

  it('keeps the instance while a module is live, whatever backend.dispose() is called', async () => {
    const backend = createWasmBackend({ simd: 'simd' });
    const config = resolveConfig({ dIn: 8, heads: 2, headDim: 4 });
    const m = await backend.createModule(config, initWeights(config, 1));
    await backend.dispose();
    const x = randomTensor([1, 5, 8], 2);
    const r = await m.forward(x);
    expect(r.output.data.every(Number.isFinite)).toBe(true);
    await m.dispose();
  });

  it('grows with T * D, not T * T: a T = 4096 forward without weights stays far below one [T, T] buffer', async () => {
    const backend = createWasmBackend({ simd: 'simd' });
    const config = resolveConfig({ dIn: 16, heads: 2, headDim: 8, causal: true });
    const m = await backend.createModule(config, initWeights(config, 1));
    const T = 4096;
    await m.forward(randomTensor([1, T, 16], 2));
    // One [T, T] float32 buffer is 64 MiB; the forward's buffers are a few T * D arrays (~1.5 MiB).
    expect(backend.diagnostics().wasmMemoryBytes).toBeLessThan(8 * 2 ** 20);
    await m.dispose();
  });
});

describe('inputs are read during the call', () => {
  it('the first core-op call (which compiles the module) is unaffected by changes after it returns', async () => {
    const backend = createWasmBackend({ simd: 'simd' });
    const q = randomTensor([1, 2, 4, 8], 1);
    const k = randomTensor([1, 2, 4, 8], 2);
    const v = randomTensor([1, 2, 4, 8], 3);
    const mask = { kind: 'bool' as const, shape: [4, 4], data: Uint8Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 0 : 1)) };
    const expected = referenceAttention(q, k, v, { causal: true, mask }).output.data;
    const pending = backend.attention(q, k, v, { causal: true, mask });
    q.data.fill(7);
    k.data.fill(-3);
    v.data.fill(1e3);
    mask.data.fill(1);
    expectClose((await pending).output.data, expected, 'first call');
  });
});

describe('memory limits', () => {
  it('a memory that cannot grow raises MHA_BACKEND_UNAVAILABLE with the size', () => {
    const fixed: WasmMemory = {
      buffer: new ArrayBuffer(65536),
      grow() {
        throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      },
    };
    const a = new Arena(fixed, 0);
    let err: unknown;
    try {
      a.alloc(2 * 65536);
    } catch (e) {
      err = e;
    }
    expect(isMhaError(err, 'MHA_BACKEND_UNAVAILABLE')).toBe(true);
    expect((err as { field: string; value: number }).field).toBe('wasmMemoryBytes');
    expect((err as { value: number }).value).toBe(2 * 65536);
    expect((err as { cause: unknown }).cause).toBeInstanceOf(RangeError);
    expect(a.allocatedBytes).toBe(0);
  });
});
