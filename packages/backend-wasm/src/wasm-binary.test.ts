// The embedded modules are exactly what assembly/ compiles to with the pinned AssemblyScript: the build
// is reproducible, and a stale src/wasm-binary.ts (sources changed, not rebuilt) fails here.
import { describe, expect, it } from 'vitest';
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './wasm-binary.js';

describe('embedded WebAssembly modules', () => {
  it('are what the sources compile to', async () => {
    const url = new URL('../scripts/compile.mjs', import.meta.url).href;
    const { compileVariants } = (await import(url)) as { compileVariants: () => Promise<Record<string, Uint8Array>> };
    const fresh = await compileVariants();
    expect(Buffer.from(fresh.simd!).toString('base64')).toBe(SIMD_WASM_BASE64);
    expect(Buffer.from(fresh.relaxed!).toString('base64')).toBe(RELAXED_WASM_BASE64);
  });

  it('import nothing and export one memory and the kernels', async () => {
    for (const b64 of [SIMD_WASM_BASE64]) {
      const mod = await WebAssembly.compile(Buffer.from(b64, 'base64'));
      expect(WebAssembly.Module.imports(mod)).toEqual([]);
      expect(WebAssembly.Module.exports(mod).map((e) => e.name).sort()).toEqual(['attention', 'attentionScratchBytes', 'gemm', 'heapBase', 'memory', 'packB', 'packedSize', 'relaxedSimd']);
    }
  });
});
