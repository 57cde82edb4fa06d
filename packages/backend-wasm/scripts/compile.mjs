// Compiles assembly/ with AssemblyScript into the package's two modules and returns their bytes. Shared by
// the build (scripts/build-wasm.mjs) and the test that the embedded bytes are what the sources compile to.
import asc from 'assemblyscript/asc';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package directory. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const common = ['assembly/index.ts', '-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--enable', 'simd'];

/** Compiler flags of each module, on top of the common ones. */
export const VARIANTS = {
  simd: [],
  relaxed: ['--enable', 'relaxed-simd'],
  // Plain SIMD over an imported shared memory that every worker instantiates the module on (up to 2 GiB,
  // which every engine with shared WebAssembly memory accepts).
  threads: ['--enable', 'threads', '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '32768'],
};

/** The WebAssembly features each variant needs beyond the MVP (what a runtime must accept to load it). */
export const FEATURES = {
  simd: ['simd'],
  relaxed: ['simd', 'relaxed-simd'],
  threads: ['simd', 'threads'],
};

/**
 * Compiles every variant in memory (nothing written).
 * @returns {Promise<Record<keyof typeof VARIANTS, Uint8Array>>}
 */
export async function compileVariants() {
  const out = {};
  for (const [name, extra] of Object.entries(VARIANTS)) {
    const files = {};
    // --baseDir is an argument, not an API option: without it asc reads from the current directory.
    const { error, stderr } = await asc.main([...common, ...extra, '--baseDir', root, '--outFile', `${name}.wasm`], {
      writeFile: (file, contents) => {
        files[file] = contents;
      },
      stdout: { write: () => true },
      stderr: { write: () => true },
    });
    if (error) throw new Error(`asc failed for ${name}: ${error.message}\n${stderr.toString()}`);
    const bytes = files[`${name}.wasm`];
    if (!bytes) throw new Error(`asc wrote no ${name}.wasm (wrote ${Object.keys(files).join(', ')})`);
    out[name] = bytes;
  }
  return out;
}
