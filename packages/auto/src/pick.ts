import { detectRuntime, MhaError, MhaErrorCode, type MhaBackend, type Runtime } from '@mha/core';
import type { Candidate } from './candidates.js';
import { MEASURED } from './measured.js';
import { rankCandidates, type Workload } from './rank.js';

/** Options of {@link pickBackend}. */
export interface PickOptions {
  /**
   * Use exactly this backend (by name, e.g. `'ts'`, `'tfjs-webgl'`); fails loudly if it cannot load instead
   * of falling back. Default: the `MHA_BACKEND` environment variable when set (Node, Deno, Bun), else automatic.
   */
  readonly prefer?: string | undefined;
  /** Override runtime detection. */
  readonly runtime?: Runtime | undefined;
  /**
   * The module you will run (its `dIn`, `dOut`, `outProj`), with {@link PickOptions.shape}: in Node the
   * candidates are then ordered by their measured speed on the benchmark shape closest in FLOPs (tiny
   * shapes favour `ts`, larger ones onnxruntime). Without them, the default order applies.
   */
  readonly config?: Workload['config'] | undefined;
  /** Batch and sequence length of the forwards you will run (with {@link PickOptions.config}). */
  readonly shape?: { readonly batch: number; readonly seqLen: number } | undefined;
  /** Replace the candidate list (tests, custom backends). */
  readonly candidates?: readonly Candidate[] | undefined;
  /**
   * Choose among these already-imported backends instead of importing packages (a bundle then holds
   * only what you import). Each is matched to a known name for its runtimes and reasons; an unknown
   * backend runs wherever it declares.
   */
  readonly backends?: readonly MhaBackend[] | undefined;
}

/** What was picked, and why; `tried` lists candidates that could not load, with the reason. */
export interface PickResult {
  readonly backend: MhaBackend;
  readonly name: string;
  readonly runtime: Runtime;
  /** Why this one: requested by name, or the ranking's basis (measured speeds or the default order) and what was skipped. */
  readonly reason: string;
  readonly tried: readonly { readonly name: string; readonly error: string }[];
}

function envPreference(): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  const v = g.process?.env?.MHA_BACKEND;
  return v === undefined || v === '' ? undefined : v;
}

/** Candidates that return the given backends, with the known rows' runtimes and reasons where the name matches. */
function givenCandidates(backends: readonly MhaBackend[], known: readonly Candidate[]): Candidate[] {
  return backends.map((b) => {
    const row = known.find((k) => k.name === b.name);
    return { name: b.name, package: row?.package ?? '(given)', runtimes: row?.runtimes ?? b.runtimes, why: row?.why ?? 'given in backends', load: async () => b };
  });
}

/**
 * The picker behind each entry point's `pickBackend`: `defaults` are the candidates that entry point can
 * import (Node: every known package; browser builds: the browser-capable ones).
 */
export async function pickFrom(options: PickOptions, defaults: readonly Candidate[]): Promise<PickResult> {
  const runtime = options.runtime ?? detectRuntime();
  const candidates = options.backends !== undefined ? givenCandidates(options.backends, defaults) : (options.candidates ?? defaults);
  const prefer = options.prefer ?? envPreference();
  const tried: { name: string; error: string }[] = [];
  if (prefer !== undefined) {
    const c = candidates.find((x) => x.name === prefer);
    if (!c) {
      throw new MhaError(MhaErrorCode.InvalidOption, 'prefer', prefer, `unknown backend; known: ${candidates.map((x) => x.name).join(', ')}`);
    }
    try {
      return { backend: await c.load(), name: c.name, runtime, reason: `requested explicitly (${c.why})`, tried };
    } catch (e) {
      throw new MhaError(MhaErrorCode.BackendUnavailable, 'prefer', prefer, `backend '${prefer}' could not load here (is ${c.package} installed?): ${(e as Error).message}`);
    }
  }
  const workload = options.config !== undefined && options.shape !== undefined ? { ...options.shape, config: options.config } : undefined;
  const eligible = candidates.filter((c) => c.runtimes.includes(runtime) && c.byNameOnly !== true);
  const { ordered, basis } = rankCandidates(eligible, runtime, workload, MEASURED);
  for (const c of ordered) {
    try {
      const backend = await c.load();
      const skipped = tried.length > 0 ? `; skipped ${tried.map((t) => t.name).join(', ')} (not installed or not loadable)` : '';
      return { backend, name: c.name, runtime, reason: `best available for ${runtime}: ${c.why}. Order: ${basis}${skipped}`, tried };
    } catch (e) {
      tried.push({ name: c.name, error: (e as Error).message.split('\n')[0] ?? String(e) });
    }
  }
  throw new MhaError(
    MhaErrorCode.BackendUnavailable,
    'runtime',
    runtime,
    `no MHA backend could load (tried ${tried.map((t) => `${t.name}: ${t.error}`).join('; ') || 'none for this runtime'}); install @mha/backend-ts`,
  );
}
