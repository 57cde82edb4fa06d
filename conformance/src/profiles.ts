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
  // onnxruntime's CPU kernels compiled to WebAssembly SIMD (onnxruntime-web), float32 accumulation.
  'ort-web': { tolerance: FLOAT32_TOLERANCE },
  // WebAssembly SIMD, float32 accumulation (fused multiply-add where relaxed SIMD is available).
  wasm: { tolerance: FLOAT32_TOLERANCE },
  // The plain-SIMD kernels split over worker threads (bit-identical to one thread by construction and by test).
  'wasm-threads': { tolerance: FLOAT32_TOLERANCE },
  // Own WGSL kernels, float32 accumulation. WGSL exp() was measured in Chromium's SwiftShader adapter at
  // 4e-6 relative worst case over the softmax's range (scripts/browser/README.md): inside the default.
  webgpu: { tolerance: FLOAT32_TOLERANCE },
};

/**
 * The profile for a backend, with optional overrides from the caller (CLI flags, adapter options).
 * {@link PROFILES} applies only when `repo` is set, i.e. the backend is this repository's own: a
 * third-party backend that is also called `ts` gets {@link DEFAULT_PROFILE}, not ts's settings.
 */
export function profileFor(name: string, override?: Partial<BackendProfile>, options: { repo?: boolean } = {}): BackendProfile {
  const base = (options.repo ? PROFILES[name] : undefined) ?? DEFAULT_PROFILE;
  return { ...base, ...override, tolerance: override?.tolerance ?? base.tolerance };
}

/** Keys of a profile file (`--profile`); anything else is refused. */
const PROFILE_KEYS = ['tolerance', 'expectations'];

/**
 * Parses a profile given outside this repository (`mha-conformance --profile file.json`):
 * `{ "tolerance": { "atol": 1e-5, "rtol": 1e-4 }, "expectations": { "<test id>": "reason" } }`,
 * both optional. Throws an `Error` naming `source` and the field.
 */
export function parseProfile(json: unknown, source: string): Partial<BackendProfile> {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(json)) throw new Error(`${source}: expected a JSON object with 'tolerance' and/or 'expectations'`);
  for (const k of Object.keys(json)) if (!PROFILE_KEYS.includes(k)) throw new Error(`${source}: unknown key ${JSON.stringify(k)} (expected ${PROFILE_KEYS.join(', ')})`);
  const out: { tolerance?: Tolerance; expectations?: Record<string, string> } = {};
  if (json.tolerance !== undefined) {
    const t = json.tolerance;
    if (!isObject(t) || Object.keys(t).some((k) => k !== 'atol' && k !== 'rtol')) throw new Error(`${source}: tolerance must be { "atol": number, "rtol": number }`);
    out.tolerance = parseTolerance([t.atol, t.rtol], `${source}: tolerance`);
  }
  if (json.expectations !== undefined) {
    const e = json.expectations;
    if (!isObject(e)) throw new Error(`${source}: expectations must map test ids to reasons`);
    const map = Object.create(null) as Record<string, string>;
    for (const [id, reason] of Object.entries(e)) {
      if (typeof reason !== 'string' || reason.length === 0) throw new Error(`${source}: expectations[${JSON.stringify(id)}] must be a non-empty reason`);
      map[id] = reason;
    }
    out.expectations = map;
  }
  return out;
}

/** `[atol, rtol]` (numbers or numeric strings, as from `--tolerance 1e-5,1e-4`) -> a checked {@link Tolerance}. */
export function parseTolerance(parts: readonly unknown[], what = 'tolerance'): Tolerance {
  const nums = parts.map((p) => (typeof p === 'string' && p.trim() !== '' ? Number(p) : p));
  if (nums.length !== 2 || nums.some((n) => typeof n !== 'number' || !Number.isFinite(n) || n < 0)) {
    throw new Error(`${what}: expected atol,rtol as two finite numbers >= 0 (e.g. 1e-5,1e-4)`);
  }
  const [atol, rtol] = nums as [number, number];
  if (atol === 0 && rtol === 0) throw new Error(`${what}: atol and rtol cannot both be 0`);
  return { atol, rtol };
}
