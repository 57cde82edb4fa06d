import { CAPABILITIES, detectRuntime, type MhaBackend } from '@mha/core';
import { ConformanceFailure, GROUPS, type ConformanceCase, type Group } from './case.js';
import type { Comparison } from './compare.js';
import type { Fixture } from './fixture.js';
import { causalMaskCases } from './groups/causal-mask.js';
import { errorCases } from './groups/errors.js';
import { headSplitCases } from './groups/head-split.js';
import { numericCases } from './groups/numeric.js';
import { propertyCases } from './groups/properties.js';
import { onnxPeerCases } from './groups/onnx-peer.js';
import { kvCacheCases } from './groups/kv-cache.js';
import { lifecycleCases } from './groups/lifecycle.js';
import { moduleFeatureCases } from './groups/module-features.js';
import type { ModuleFeatureFixture } from './module-fixtures.js';
import type { OnnxPeerCase } from './onnx-peer.js';
import { shapeCases } from './groups/shapes.js';
import { profileFor, type BackendProfile } from './profiles.js';
import { likelyCauses, probe, type LikelyCause } from './diagnose.js';

/** Which cases to build. */
export interface SuiteOptions {
  /** Golden fixtures for the numeric group (built-in ones plus any extra directory). */
  readonly fixtures: readonly Fixture[];
  /** ONNX Attention peer cases for the onnx-peer group (default: none). */
  readonly onnxPeer?: readonly OnnxPeerCase[] | undefined;
  /** Module-feature golden cases (`mha-module-fixture/1`, default: none; Node loads them with `loadModuleFixtures`). */
  readonly moduleFixtures?: readonly ModuleFeatureFixture[] | undefined;
  /** Only these groups (default: all). */
  readonly groups?: readonly Group[] | undefined;
  /** Only ids containing this substring. */
  readonly filter?: string | undefined;
}

/** Every case of the suite, in group order, with unique ids. */
export function buildSuite(options: SuiteOptions): ConformanceCase[] {
  const all = [...shapeCases(), ...causalMaskCases(), ...headSplitCases(), ...numericCases(options.fixtures), ...kvCacheCases(), ...propertyCases(), ...onnxPeerCases(options.onnxPeer ?? []), ...lifecycleCases(), ...errorCases(), ...moduleFeatureCases(options.moduleFixtures ?? [])];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.id)) throw new Error(`duplicate conformance id ${c.id}`);
    seen.add(c.id);
  }
  return all.filter((c) => (!options.groups || options.groups.includes(c.group)) && (!options.filter || c.id.includes(options.filter)));
}

/** Why a case is skipped for a backend (missing capability, profile expectation, case's own rule), or undefined. */
export function skipReason(c: ConformanceCase, backend: MhaBackend, profile: BackendProfile): string | undefined {
  // A backend that cannot run here (WebGPU in Node) is skipped with its reason, never failed or passed.
  const here = detectRuntime();
  if (!backend.runtimes.includes(here)) return `backend declares runtimes ${backend.runtimes.join(', ')}; this runtime is ${here}`;
  const missing = (c.needs ?? []).filter((cap) => !backend.capabilities.includes(cap));
  if (missing.length > 0) return `backend does not declare ${missing.map((m) => `'${m}' (${CAPABILITIES[m]})`).join(', ')}`;
  const expected = profile.expectations?.[c.id];
  if (expected !== undefined) return `expected failure: ${expected}`;
  return c.skipFor?.(backend);
}

/** The outcome of one case. */
export interface CaseResult {
  readonly id: string;
  readonly group: Group;
  readonly title: string;
  readonly spec: string;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly reason?: string | undefined;
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly worst?: Comparison['worst'];
  /** For a failed matrix comparison: the errors around the worst element (the HTML report's heatmap). */
  readonly errorMap?: Comparison['errorMap'];
  /** The largest `|diff| / allowed` over the case's comparisons at the profile's precision (0 when none). */
  readonly ratio: number;
  /**
   * The same for comparisons against a looser tolerance chosen by the case (rtol above the profile's:
   * the float16 ONNX cases), kept apart so they do not hide the float32 errors.
   */
  readonly looseRatio?: number | undefined;
  readonly ms: number;
}

/** Runs one case and measures the worst error it saw. Never throws: failures become results. */
export async function runCase(c: ConformanceCase, backend: MhaBackend, profile: BackendProfile): Promise<CaseResult> {
  const base = { id: c.id, group: c.group, title: c.title, spec: c.spec };
  const skip = skipReason(c, backend, profile);
  if (skip !== undefined) return { ...base, status: 'skip', reason: skip, maxAbs: 0, maxRel: 0, ratio: 0, ms: 0 };
  let maxAbs = 0;
  let maxRel = 0;
  let ratio = 0;
  let looseRatio: number | undefined;
  const start = performance.now();
  try {
    await c.run({
      backend,
      tolerance: profile.tolerance,
      measure(_what, cmp) {
        if (Number.isFinite(cmp.maxAbs)) maxAbs = Math.max(maxAbs, cmp.maxAbs);
        if (Number.isFinite(cmp.maxRel)) maxRel = Math.max(maxRel, cmp.maxRel);
        if (cmp.ratio === undefined || Number.isNaN(cmp.ratio)) return;
        if (cmp.tolerance && cmp.tolerance.rtol > profile.tolerance.rtol) looseRatio = Math.max(looseRatio ?? 0, cmp.ratio);
        else ratio = Math.max(ratio, cmp.ratio);
      },
    });
    return { ...base, status: 'pass', maxAbs, maxRel, ratio, looseRatio, ms: performance.now() - start };
  } catch (e) {
    const reason = e instanceof ConformanceFailure ? e.message : `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    const worst = e instanceof ConformanceFailure ? e.detail?.worst : undefined;
    const errorMap = e instanceof ConformanceFailure ? e.detail?.errorMap : undefined;
    return { ...base, status: 'fail', reason, maxAbs, maxRel, ratio, looseRatio, worst, ...(errorMap ? { errorMap } : {}), ms: performance.now() - start };
  }
}

/** A backend's results plus what it declared. */
export interface BackendReport {
  readonly backend: string;
  readonly capabilities: readonly string[];
  readonly tolerance: BackendProfile['tolerance'];
  readonly results: readonly CaseResult[];
  /** Cases not run because `maxFailures` was reached. */
  readonly notRun?: number | undefined;
  /** Known bug classes the failures point to (see `likelyCauses`). */
  readonly likelyCauses?: readonly LikelyCause[] | undefined;
  /** Remarks about how the backend was run (e.g. which profile applied and why). */
  readonly notes?: readonly string[] | undefined;
}

/** Runs the suite against one backend; `onResult` sees each result as it lands (progress display). */
export async function runSuite(
  backend: MhaBackend,
  options: SuiteOptions & RunOptions,
): Promise<BackendReport> {
  const profile = profileFor(backend.name, options.profile, { repo: options.repoProfile ?? false });
  const cases = buildSuite(options);
  const results: CaseResult[] = [];
  let failures = 0;
  for (const c of cases) {
    if (options.maxFailures !== undefined && failures >= options.maxFailures) break;
    const r = await runCase(c, backend, profile);
    results.push(r);
    if (r.status === 'fail') failures++;
    options.onResult?.(r, results.length, cases.length);
  }
  const notRun = cases.length - results.length;
  const causes = failures > 0 && options.diagnose !== false ? likelyCauses(results, await probe(backend)) : [];
  return {
    backend: backend.name,
    capabilities: backend.capabilities,
    tolerance: profile.tolerance,
    results,
    ...(notRun > 0 ? { notRun } : {}),
    ...(causes.length > 0 ? { likelyCauses: causes } : {}),
    ...(options.notes?.length ? { notes: options.notes } : {}),
  };
}

/** How {@link runSuite} runs. */
export interface RunOptions {
  /** Overrides of the profile (tolerance, expectations), e.g. from `--tolerance` / `--profile`. */
  readonly profile?: Partial<BackendProfile> | undefined;
  /**
   * Use this repository's profile for the backend's name (`PROFILES`). Only for the repo's own
   * backends: a third-party backend that happens to be named `ts` must not inherit ts's tolerance.
   * Default false.
   */
  readonly repoProfile?: boolean | undefined;
  /** Stop after this many failed cases (the rest are counted in `notRun`). */
  readonly maxFailures?: number | undefined;
  /** Probe the backend after failures to name likely causes (default true). */
  readonly diagnose?: boolean | undefined;
  /** Remarks copied into the report. */
  readonly notes?: readonly string[] | undefined;
  /** Sees each result as it lands (progress display). */
  readonly onResult?: ((r: CaseResult, done: number, total: number) => void) | undefined;
}

export { GROUPS };
