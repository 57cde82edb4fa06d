import type { Tolerance } from './compare.js';

/**
 * Per-backend settings, all in one place (the tfjs idea: the suite is shared, only this table differs).
 * A backend not listed here gets {@link DEFAULT_PROFILE}.
 */
export interface BackendProfile {
  /** Tolerance against the golden fixtures and the float64 reference (see SPEC.md, "Numeric tolerance"). */
  readonly tolerance: Tolerance;
  /** Cases this backend is known not to pass, by test id, each with its reason. Reported as skipped. */
  readonly expectations?: Readonly<Record<string, string>>;
}

/**
 * float32 arithmetic with float32 accumulation. SPEC.md derives it: dot products of length n <= 768
 * carry a relative error of order sqrt(n) * 2^-24 (about 2e-6) in practice and n * 2^-24 (about 5e-5)
 * in the worst case; the oracle itself is float32 torch, so two such errors meet. rtol 1e-4 covers
 * that worst case with margin; atol 1e-5 covers values that cancel to near zero.
 */
export const FLOAT32_TOLERANCE: Tolerance = { atol: 1e-5, rtol: 1e-4 };

/** Profile of any backend without an entry of its own. */
export const DEFAULT_PROFILE: BackendProfile = { tolerance: FLOAT32_TOLERANCE };

/** The repo's backends. Every entry must say why it differs from the default, if it does. */
export const PROFILES: Readonly<Record<string, BackendProfile>> = {
  ts: { tolerance: FLOAT32_TOLERANCE },
  // Same arithmetic as ts, split across worker threads (bit-identical by construction and by test).
  'ts-threads': { tolerance: FLOAT32_TOLERANCE },
  'tfjs-cpu': { tolerance: FLOAT32_TOLERANCE },
  'tfjs-wasm': { tolerance: FLOAT32_TOLERANCE },
  'ort-attention-op': { tolerance: FLOAT32_TOLERANCE },
  'ort-decomposed': { tolerance: FLOAT32_TOLERANCE },
};

/** The profile for a backend name, with optional overrides from the caller (CLI flags, adapter options). */
export function profileFor(name: string, override?: Partial<BackendProfile>): BackendProfile {
  const base = PROFILES[name] ?? DEFAULT_PROFILE;
  return { ...base, ...override, tolerance: override?.tolerance ?? base.tolerance };
}
