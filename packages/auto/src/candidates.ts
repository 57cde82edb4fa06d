import type { MhaBackend, Runtime } from '@mha/core';

/** One backend the picker may use: where it runs, how to load it, and why one would choose it. */
export interface Candidate {
  /** Backend name as it appears in conformance reports. */
  readonly name: string;
  /** The npm package that provides it (must be installed for the candidate to be available). */
  readonly package: string;
  readonly runtimes: readonly Runtime[];
  /** Imports the package and returns the backend; rejects when the package is not installed or cannot load here. */
  load(): Promise<MhaBackend>;
  /** One line: when this is the right choice. */
  readonly why: string;
  /** Chosen only when asked for by name (`prefer` / `MHA_BACKEND`), never automatically (e.g. GPU backends). */
  readonly byNameOnly?: boolean | undefined;
}

/** A row of {@link KNOWN_BACKENDS}: a candidate described as data, its module loaded by the entry point's importer. */
export interface KnownBackend extends Omit<Candidate, 'load'> {
  /** Picks the backend out of the imported package module. */
  select(module: Record<string, unknown>): MhaBackend;
}

/** Imports a package by name (each entry point brings its own: Node resolves at run time, browser builds import literally). */
export type PackageImporter = (pkg: string) => Promise<Record<string, unknown>>;

const exported =
  (key: string) =>
  (m: Record<string, unknown>): MhaBackend => {
    const b = m[key];
    if (typeof b !== 'object' || b === null) throw new Error(`the package has no export '${key}' (an older version?)`);
    return b as MhaBackend;
  };
const tfjs =
  (tfBackend: string) =>
  (m: Record<string, unknown>): MhaBackend =>
    (m.createTfjsBackend as (o: { tfBackend: string }) => MhaBackend)({ tfBackend });

/**
 * Every backend of this repository, in the order used when no shape is given (best first on CPU; see
 * BENCHMARKS.md). With a shape, Node's candidates are reordered by measured speed (see rank.ts). A new
 * backend package is one more row (or, outside this repository, `pickBackend({ candidates })` /
 * `pickBackend({ backends })`).
 */
export const KNOWN_BACKENDS: readonly KnownBackend[] = [
  {
    name: 'ort-attention-op',
    package: '@mha/backend-onnxruntime',
    runtimes: ['node'],
    select: exported('ortAttentionOp'),
    why: 'native onnxruntime kernels (ONNX Attention op): the fastest on CPU in Node for all but tiny shapes; needs the native add-on',
  },
  {
    name: 'ort-decomposed',
    package: '@mha/backend-onnxruntime',
    runtimes: ['node'],
    select: exported('ortDecomposed'),
    why: 'native onnxruntime kernels on the decomposed graph (MatMul/Softmax): for onnxruntime builds without the Attention op',
  },
  {
    name: 'wasm',
    package: '@mha/backend-wasm',
    // Not edge: edge workers (Cloudflare, Vercel) refuse to compile WebAssembly from bytes at run time.
    runtimes: ['node', 'browser', 'deno', 'bun'],
    select: exported('wasmBackend'),
    why: 'WebAssembly SIMD kernels: faster than ts on every benchmarked shape (several times on larger ones), no native add-on',
  },
  {
    name: 'ts',
    package: '@mha/backend-ts',
    runtimes: ['node', 'browser', 'deno', 'bun', 'edge'],
    select: exported('tsBackend'),
    why: 'pure TypeScript, zero dependencies: runs everywhere, including edge workers; the fastest on tiny shapes',
  },
  {
    name: 'ts-threads',
    package: '@mha/backend-ts',
    runtimes: ['node', 'browser', 'deno', 'bun'],
    select: exported('tsThreadsBackend'),
    why: 'pure TypeScript on 2 threads (shared memory): faster than ts on large shapes; in a browser needs COOP/COEP, else one thread',
  },
  {
    name: 'ort-web',
    package: '@mha/backend-onnxruntime/web',
    // Browser builds of @mha/auto do not import it (onnxruntime-web's .wasm is 14 MB): import it and pass `backends`.
    runtimes: ['node', 'browser', 'deno', 'bun'],
    select: exported('ortWeb'),
    why: 'onnxruntime compiled to WebAssembly SIMD (onnxruntime-web, what transformers.js runs on): when an app already ships onnxruntime-web; needs onnxruntime-web installed, and in a browser its .wasm served and wasmPaths',
  },
  {
    name: 'tfjs-wasm',
    package: '@mha/backend-tfjs',
    runtimes: ['node', 'browser', 'deno'],
    select: exported('tfjsWasm'),
    why: 'TensorFlow.js on WebAssembly: when an app already uses tfjs (in a browser, serve its .wasm files and set wasmPaths)',
  },
  {
    name: 'tfjs-cpu',
    package: '@mha/backend-tfjs',
    runtimes: ['node', 'browser', 'deno', 'bun'],
    select: exported('tfjsCpu'),
    why: 'TensorFlow.js plain-JS kernels: a fallback, slower than ts',
  },
  {
    name: 'tfjs-webgl',
    package: '@mha/backend-tfjs',
    runtimes: ['browser'],
    select: tfjs('webgl'),
    byNameOnly: true,
    why: 'TensorFlow.js on WebGL (GPU): install and import @tensorflow/tfjs-backend-webgl first',
  },
  {
    name: 'tfjs-webgpu',
    package: '@mha/backend-tfjs',
    runtimes: ['browser'],
    select: tfjs('webgpu'),
    byNameOnly: true,
    why: 'TensorFlow.js on WebGPU: install and import @tensorflow/tfjs-backend-webgpu first',
  },
];

/** The candidates of {@link KNOWN_BACKENDS}, each loading its package through `importer`. */
export function candidatesFrom(importer: PackageImporter, known: readonly KnownBackend[] = KNOWN_BACKENDS): Candidate[] {
  return known.map(({ select, ...row }) => ({ ...row, load: async () => select(await importer(row.package)) }));
}
