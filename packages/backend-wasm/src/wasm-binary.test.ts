// The embedded modules are exactly what assembly/ compiles to with the pinned AssemblyScript: the build
// is reproducible, and a stale src/wasm-binary.ts (sources changed, not rebuilt) fails here.
import { describe, expect, it } from 'vitest';
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64, THREADS_WASM_BASE64 } from './wasm-binary.js';

// The build has no DOM lib, so the WebAssembly global is typed here, as far as this test uses it.
interface ModuleDescriptor {
  readonly name: string;
}
const wasm = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<object>; Module: { imports(m: object): ModuleDescriptor[]; exports(m: object): ModuleDescriptor[] } } }).WebAssembly;

describe('embedded WebAssembly modules', () => {
  it('are what the sources compile to', async () => {
    const url = new URL('../scripts/compile.mjs', import.meta.url).href;
    const { compileVariants } = (await import(url)) as { compileVariants: () => Promise<Record<string, Uint8Array>> };
    const fresh = await compileVariants();
    expect(Buffer.from(fresh.simd!).toString('base64')).toBe(SIMD_WASM_BASE64);
    expect(Buffer.from(fresh.relaxed!).toString('base64')).toBe(RELAXED_WASM_BASE64);
    expect(Buffer.from(fresh.threads!).toString('base64')).toBe(THREADS_WASM_BASE64);
  });

  it('import nothing and export one memory and the kernels', async () => {
    for (const b64 of [SIMD_WASM_BASE64]) {
      const mod = await wasm.compile(Buffer.from(b64, 'base64'));
      expect(wasm.Module.imports(mod)).toEqual([]);
      expect(wasm.Module.exports(mod).map((e) => e.name).sort()).toEqual(['attention', 'attentionScratchBytes', 'gemm', 'heapBase', 'memory', 'packB', 'packedSize', 'relaxedSimd']);
    }
  });
});
