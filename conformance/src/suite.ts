import { CAPABILITIES, type MhaBackend } from '@mha/core';
import { ConformanceFailure, GROUPS, type ConformanceCase, type Group } from './case.js';
import type { Comparison } from './compare.js';
import type { Fixture } from './fixture.js';
import { causalMaskCases } from './groups/causal-mask.js';
import { errorCases } from './groups/errors.js';
import { headSplitCases } from './groups/head-split.js';
import { numericCases } from './groups/numeric.js';
import { propertyCases } from './groups/properties.js';
import { onnxPeerCases } from './groups/onnx-peer.js';
import { lifecycleCases } from './groups/lifecycle.js';
import type { OnnxPeerCase } from './onnx-peer.js';
import { shapeCases } from './groups/shapes.js';
import { profileFor, type BackendProfile } from './profiles.js';

/** Which cases to build. */
export interface SuiteOptions {
  /** Golden fixtures for the numeric group (built-in ones plus any extra directory). */
  readonly fixtures: readonly Fixture[];
  /** ONNX Attention peer cases for the onnx-peer group (default: none). */
  readonly onnxPeer?: readonly OnnxPeerCase[] | undefined;
  /** Only these groups (default: all). */
  readonly groups?: readonly Group[] | undefined;
  /** Only ids containing this substring. */
  readonly filter?: string | undefined;
}

/** Every case of the suite, in group order, with unique ids. */
export function buildSuite(options: SuiteOptions): ConformanceCase[] {
  const all = [...shapeCases(), ...causalMaskCases(), ...headSplitCases(), ...numericCases(options.fixtures), ...propertyCases(), ...onnxPeerCases(options.onnxPeer ?? []), ...lifecycleCases(), ...errorCases()];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.id)) throw new Error(`duplicate conformance id ${c.id}`);
    seen.add(c.id);
  }
  return all.filter((c) => (!options.groups || options.groups.includes(c.group)) && (!options.filter || c.id.includes(options.filter)));
}

/** Why a case is skipped for a backend (missing capability, profile expectation, case's own rule), or undefined. */
export function skipReason(c: ConformanceCase, backend: MhaBackend, profile: BackendProfile): string | undefined {
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
  readonly ms: number;
}

/** Runs one case and measures the worst error it saw. Never throws: failures become results. */
export async function runCase(c: ConformanceCase, backend: MhaBackend, profile: BackendProfile): Promise<CaseResult> {
  const base = { id: c.id, group: c.group, title: c.title, spec: c.spec };
  const skip = skipReason(c, backend, profile);
  if (skip !== undefined) return { ...base, status: 'skip', reason: skip, maxAbs: 0, maxRel: 0, ms: 0 };
  let maxAbs = 0;
  let maxRel = 0;
  const start = performance.now();
  try {
    await c.run({
      backend,
      tolerance: profile.tolerance,
      measure(_what, cmp) {
        if (Number.isFinite(cmp.maxAbs)) maxAbs = Math.max(maxAbs, cmp.maxAbs);
        if (Number.isFinite(cmp.maxRel)) maxRel = Math.max(maxRel, cmp.maxRel);
      },
    });
    return { ...base, status: 'pass', maxAbs, maxRel, ms: performance.now() - start };
  } catch (e) {
    const reason = e instanceof ConformanceFailure ? e.message : `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    const worst = e instanceof ConformanceFailure ? e.detail?.worst : undefined;
    return { ...base, status: 'fail', reason, maxAbs, maxRel, worst, ms: performance.now() - start };
  }
}

/** A backend's results plus what it declared. */
export interface BackendReport {
  readonly backend: string;
  readonly capabilities: readonly string[];
  readonly tolerance: BackendProfile['tolerance'];
  readonly results: readonly CaseResult[];
}

/** Runs the suite against one backend; `onResult` sees each result as it lands (progress display). */
export async function runSuite(
  backend: MhaBackend,
  options: SuiteOptions & { profile?: Partial<BackendProfile> | undefined; onResult?: ((r: CaseResult, done: number, total: number) => void) | undefined },
): Promise<BackendReport> {
  const profile = profileFor(backend.name, options.profile);
  const cases = buildSuite(options);
  const results: CaseResult[] = [];
  for (const c of cases) {
    const r = await runCase(c, backend, profile);
    results.push(r);
    options.onResult?.(r, results.length, cases.length);
  }
  return { backend: backend.name, capabilities: backend.capabilities, tolerance: profile.tolerance, results };
}

export { GROUPS };
