import { MhaError, MhaErrorCode } from '@mha/core';

/**
 * The tfjs backends this package can drive. `cpu` (pure JavaScript) and `wasm` (XNNPACK compiled to
 * WebAssembly) ship with the package and are tested in Node. `webgl` and `webgpu` are for browsers:
 * install `@tensorflow/tfjs-backend-webgl` / `@tensorflow/tfjs-backend-webgpu` and import them before
 * creating a module; they cannot run in Node and are not covered by this package's tests.
 */
export const TFJS_BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu'] as const;

/** One of {@link TFJS_BACKENDS}. */
export type TfjsBackendName = (typeof TFJS_BACKENDS)[number];

/**
 * How a module's projections and attention matmuls are issued.
 * - `per-head`: every head's q, k, v come from their own 2-D matmul (`[B*T, dIn] @ [dIn, dh]`), and each
 *   (batch, head) runs a 2-D `[T, dh] @ [dh, T]` and `[T, T] @ [T, dh]` matmul pair. tfjs-wasm runs plain
 *   2-D matmuls on XNNPACK's fast path (about 25-30 GFLOP/s here, 10x its batched matmul), and no
 *   head-splitting copy is needed after the projections.
 * - `batched`: one fused `[B*T, dIn] @ [dIn, 3*dOut]` projection, one transpose into heads, one 4-D
 *   batched matmul pair for all heads: the fewest kernel launches, the natural choice on GPUs.
 * The core op uses the same attention step in either layout.
 */
export type AttentionLayout = 'per-head' | 'batched';

/** Options of {@link createTfjsBackend}. */
export interface TfjsBackendOptions {
  /** The tfjs backend to compute on. Default `'cpu'`. */
  tfBackend?: TfjsBackendName | undefined;
  /**
   * Where the tfjs-wasm binaries are served from (passed to `setWasmPaths`): a directory URL/path ending
   * in `/`, or a map from binary file name to its URL. Only used with `tfBackend: 'wasm'`, and only if the
   * wasm backend has not been initialised yet in this process. Default in Node: the `dist/` directory of
   * the installed `@tensorflow/tfjs-backend-wasm`; in browsers tfjs's own default (next to the script).
   */
  wasmPaths?: string | Readonly<Record<string, string>> | undefined;
  /** Default `'per-head'` for `cpu` and `wasm`, `'batched'` for `webgl` and `webgpu`. */
  attentionLayout?: AttentionLayout | undefined;
}

/** {@link TfjsBackendOptions} with every default filled in. */
export interface ResolvedTfjsBackendOptions {
  readonly tfBackend: TfjsBackendName;
  readonly wasmPaths: string | Readonly<Record<string, string>> | undefined;
  readonly attentionLayout: AttentionLayout;
}

const KNOWN = ['tfBackend', 'wasmPaths', 'attentionLayout'];

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new MhaError(MhaErrorCode.InvalidOption, field, value, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

/** Validates {@link TfjsBackendOptions} and fills in defaults; bad values raise `MHA_INVALID_OPTION`. */
export function resolveTfjsBackendOptions(options: TfjsBackendOptions = {}): ResolvedTfjsBackendOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${KNOWN.join(', ')}`);
    }
  }
  const tfBackend = options.tfBackend === undefined ? 'cpu' : oneOf(options.tfBackend, TFJS_BACKENDS, 'options.tfBackend');
  const gpu = tfBackend === 'webgl' || tfBackend === 'webgpu';
  const attentionLayout =
    options.attentionLayout === undefined ? (gpu ? 'batched' : 'per-head') : oneOf(options.attentionLayout, ['per-head', 'batched'] as const, 'options.attentionLayout');
  const { wasmPaths } = options;
  if (wasmPaths !== undefined) {
    const ok =
      typeof wasmPaths === 'string'
        ? wasmPaths.length > 0
        : typeof wasmPaths === 'object' && wasmPaths !== null && Object.values(wasmPaths).every((v) => typeof v === 'string' && v.length > 0);
    if (!ok) throw new MhaError(MhaErrorCode.InvalidOption, 'options.wasmPaths', wasmPaths, 'expected a directory ending in / or a map { [wasm file name]: url }');
  }
  return { tfBackend, wasmPaths, attentionLayout };
}
