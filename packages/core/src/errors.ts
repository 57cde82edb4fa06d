/**
 * Stable error codes. Every backend raises the same code for the same bad input,
 * because validation lives here in core and runs before any backend kernel.
 */
export const MhaErrorCode = {
  /** A size in the config is not a positive safe integer (or is too large to allocate). */
  InvalidConfig: 'MHA_INVALID_CONFIG',
  /** `dOut` was given and `heads` does not divide it. */
  HeadsNotDivisible: 'MHA_HEADS_NOT_DIVISIBLE',
  /** A tensor's data is not the required array type, or an option has the wrong type. */
  InvalidType: 'MHA_INVALID_TYPE',
  /** A tensor's shape is malformed: wrong rank, negative / fractional dims. */
  InvalidShape: 'MHA_INVALID_SHAPE',
  /** A tensor's data length does not match the product of its declared shape. */
  ShapeMismatch: 'MHA_SHAPE_MISMATCH',
  /** A dimension disagrees with the config or with another input (e.g. x's last dim != dIn). */
  DimMismatch: 'MHA_DIM_MISMATCH',
  /** A weight is missing, unexpected, or has the wrong number of elements. */
  WeightShape: 'MHA_WEIGHT_SHAPE',
  /** A weight or input holds NaN or +-Infinity (SPEC.md, "Non-finite values"). */
  NonFinite: 'MHA_NON_FINITE',
  /**
   * Finite inputs and weights produced a non-finite output or attention weight: an intermediate exceeded
   * the float32 range (SPEC.md, "Non-finite values"). Raised by core instead of returning NaN/Infinity.
   */
  Overflow: 'MHA_OVERFLOW',
  /** An option has an invalid value (e.g. a non-finite scale). */
  InvalidOption: 'MHA_INVALID_OPTION',
  /** The backend does not support a requested capability. */
  Unsupported: 'MHA_UNSUPPORTED',
  /**
   * The backend cannot run in this environment right now: its runtime is not installed or failed to
   * initialise, or shared runtime state (e.g. tfjs's active backend) was changed underneath it.
   */
  BackendUnavailable: 'MHA_BACKEND_UNAVAILABLE',
  /** A backend broke the contract (e.g. returned an output of the wrong size): a backend bug. */
  BackendContract: 'MHA_BACKEND_CONTRACT',
  /** Appending to a `KvCache` would exceed its capacity (the cache is left unchanged). */
  CacheFull: 'MHA_CACHE_FULL',
  /** `forward` (or another call) on a module after `dispose()`. */
  Disposed: 'MHA_DISPOSED',
} as const;

/** Union of every {@link MhaErrorCode} value. */
export type MhaErrorCode = (typeof MhaErrorCode)[keyof typeof MhaErrorCode];

function describe(value: unknown, depth = 0): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return Object.is(value, -0) ? '-0' : String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object') return typeof value === 'function' ? `function ${value.name}` : String(value);
  // Printing must never throw (a Proxy can trap every read), and must never print `[object Object]`.
  try {
    if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
    if (depth >= 2) return Array.isArray(value) ? `[...${value.length}]` : '{...}';
    if (Array.isArray(value)) {
      const items = value.slice(0, 16).map((v) => describe(v, depth + 1));
      return `[${items.join(', ')}${value.length > 16 ? `, ... (${value.length} items)` : ''}]`;
    }
    const keys = Object.keys(value);
    const body = keys.slice(0, 6).map((k) => `${k}: ${describe((value as Record<string, unknown>)[k], depth + 1)}`);
    const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
    const name = proto === null || proto === Object.prototype ? '' : `${String(proto.constructor?.name ?? 'Object')} `;
    return `${name}{${body.join(', ')}${keys.length > 6 ? ', ...' : ''}}`;
  } catch {
    return '(unprintable object)';
  }
}

/**
 * The one error class of the project. `code` is stable across versions and backends;
 * `field` names the offending input (e.g. `config.heads`, `x.shape[2]`, `weights.wq`);
 * `value` is what was received.
 *
 * @example
 * try { resolveConfig({ dIn: 3, dOut: 5, heads: 2 }); }
 * catch (e) { if (e instanceof MhaError) console.log(e.code, e.field); } // MHA_HEADS_NOT_DIVISIBLE config.dOut
 */
export class MhaError extends Error {
  override readonly name = 'MhaError';
  constructor(
    readonly code: MhaErrorCode,
    readonly field: string,
    readonly value: unknown,
    detail: string,
  ) {
    super(`${code}: ${field} = ${describe(value)}: ${detail}`);
  }
}

/** True when `e` is an {@link MhaError}, optionally with the given code. Works across package copies. */
export function isMhaError(e: unknown, code?: MhaErrorCode): e is MhaError {
  if (typeof e !== 'object' || e === null) return false;
  const c = (e as { code?: unknown; name?: unknown }).code;
  if ((e as { name?: unknown }).name !== 'MhaError' || typeof c !== 'string') return false;
  return code === undefined || c === code;
}
