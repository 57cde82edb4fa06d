import { MhaError, MhaErrorCode } from '@mha/core';
import { Arena, type WasmMemory } from './arena.js';
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64, THREADS_WASM_BASE64 } from './wasm-binary.js';

/** The kernels a module exports (assembly/index.ts). Pointers and strides: bytes and floats as documented there. */
export interface KernelExports {
  readonly memory: WasmMemory;
  gemm(m: number, n: number, k: number, a: number, lda: number, packed: number, bias: number, c: number, ldc: number): void;
  packB(k: number, n: number, b: number, ldb: number, dst: number): void;
  packedSize(k: number, n: number): number;
  attention(...args: number[]): void;
  /** Work bytes of `attention` for `tq` query rows per head; `withWeights` 1 when it writes weights, else 0. */
  attentionScratchBytes(tk: number, dk: number, dv: number, withWeights: number, tq: number): number;
  heapBase(): number;
  relaxedSimd(): number;
}

/** Which compiled module to run. */
export type SimdFlavour = 'relaxed' | 'simd';

/** Every compiled module: the two single-threaded builds and the shared-memory one for threads. */
type Build = SimdFlavour | 'threads';

const BASE64: Record<Build, string> = { simd: SIMD_WASM_BASE64, relaxed: RELAXED_WASM_BASE64, threads: THREADS_WASM_BASE64 };

/** Pages (64 KiB) of the shared memory: 1 to start, at most 2 GiB (the threads build's declared maximum). */
const SHARED_MAXIMUM_PAGES = 32768;

/** The slice of the `WebAssembly` global this package uses (typed here: the build has no DOM lib). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: object }>;
}

const wasmApi = (): WebAssemblyApi | undefined => (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;

/**
 * Compiles and instantiates, turning an engine refusal (e.g. an edge runtime that forbids compiling
 * WebAssembly from bytes) into `MHA_BACKEND_UNAVAILABLE` with the engine's error as `cause`.
 */
async function instantiate(build: Build, imports: object): Promise<{ module: object; exports: object }> {
  const api = wasmApi()!;
  try {
    const module = await (modules[build] ??= api.compile(bytesOf(build)).catch((e: unknown) => {
      delete modules[build];
      throw e;
    }));
    return { module, exports: (await api.instantiate(module, imports)).exports };
  } catch (e) {
    const err = new MhaError(MhaErrorCode.BackendUnavailable, 'WebAssembly', build, `this runtime refused to compile or instantiate the module: ${e instanceof Error ? e.message : String(e)}`);
    Object.defineProperty(err, 'cause', { value: e, configurable: true, writable: true, enumerable: false });
    throw err;
  }
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const cachedBytes: Partial<Record<Build, Uint8Array<ArrayBuffer>>> = {};
const bytesOf = (b: Build) => (cachedBytes[b] ??= decode(BASE64[b]));

/** Whether this runtime can compile the module of `flavour` (WebAssembly SIMD, and relaxed SIMD for `'relaxed'`). */
export function flavourSupported(flavour: SimdFlavour): boolean {
  const api = wasmApi();
  return api !== undefined && api.validate(bytesOf(flavour));
}

const modules: Partial<Record<Build, Promise<object>>> = {};

/**
 * Whether this runtime can run the threads build: shared WebAssembly memory (needs `SharedArrayBuffer`,
 * which browsers give only to cross-origin isolated pages) and the build's features. `undefined` when it
 * can, else the reason.
 */
export function sharedMemoryUnavailable(): string | undefined {
  const api = wasmApi();
  if (api === undefined) return 'no WebAssembly in this runtime';
  if (typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer !== 'function') return 'SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: COOP/COEP headers)';
  if (!api.validate(bytesOf('threads'))) return 'this runtime has no WebAssembly threads or SIMD';
  try {
    new api.Memory({ initial: 1, maximum: 1, shared: true });
  } catch (e) {
    return `shared WebAssembly memory is unavailable (${(e as Error).message})`;
  }
  return undefined;
}

/** One instance of a kernel module: its own memory and the allocator over it. */
export class WasmRuntime {
  readonly arena: Arena;
  private constructor(
    readonly flavour: SimdFlavour,
    readonly kernels: KernelExports,
    /** The compiled threads module and its shared memory, which workers instantiate too; else undefined. */
    readonly shared: { readonly module: object; readonly memory: WasmMemory } | undefined,
  ) {
    this.arena = new Arena(kernels.memory, kernels.heapBase());
  }

  /** Instantiates the threads build on a new shared memory (check {@link sharedMemoryUnavailable} first). */
  static async createShared(): Promise<WasmRuntime> {
    const api = wasmApi()!;
    const memory = new api.Memory({ initial: 1, maximum: SHARED_MAXIMUM_PAGES, shared: true });
    const { module, exports } = await instantiate('threads', { env: { memory } });
    // The memory is the imported one (whether or not the module re-exports it).
    const kernels = { ...exports, memory } as unknown as KernelExports;
    return new WasmRuntime('simd', kernels, { module, memory });
  }

  /**
   * Compiles (once per flavour, then cached) and instantiates a module. Asynchronous on purpose:
   * browsers refuse synchronous compilation of large modules on the main thread.
   */
  static async create(flavour: SimdFlavour): Promise<WasmRuntime> {
    if (!flavourSupported(flavour)) {
      throw new MhaError(MhaErrorCode.BackendUnavailable, 'WebAssembly', flavour, flavour === 'relaxed' ? 'this runtime has no WebAssembly relaxed SIMD' : 'this runtime has no WebAssembly SIMD');
    }
    const { exports } = await instantiate(flavour, {});
    return new WasmRuntime(flavour, exports as unknown as KernelExports, undefined);
  }

  /** A float32 view of `len` floats at byte `ptr`; stale after the memory grows. */
  f32(ptr: number, len: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, ptr, len);
  }

  /** Copies `data` into a new block and returns its pointer. */
  put(data: Float32Array | Uint8Array): number {
    const ptr = this.arena.alloc(data.byteLength);
    new Uint8Array(this.kernels.memory.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return ptr;
  }

  /** A fresh float32 array holding `len` floats copied out of byte `ptr`. */
  take(ptr: number, len: number): Float32Array {
    const out = new Float32Array(len);
    out.set(this.f32(ptr, len));
    return out;
  }
}
