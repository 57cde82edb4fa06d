import { detectRuntime, MhaError, MhaErrorCode, type MhaBackend, type Runtime } from '@mha/core';
import { CANDIDATES, type Candidate } from './candidates.js';

/** Options of {@link pickBackend}. */
export interface PickOptions {
  /**
   * Use exactly this backend (by name, e.g. `'ts'`); fails loudly if it cannot load instead of falling
   * back. Default: the `MHA_BACKEND` environment variable when set (Node, Deno, Bun), else automatic.
   */
  readonly prefer?: string | undefined;
  /** Override runtime detection. */
  readonly runtime?: Runtime | undefined;
  /** Replace the candidate list (tests, custom backends). */
  readonly candidates?: readonly Candidate[] | undefined;
}

/** What was picked, and why; `tried` lists candidates that could not load, with the reason. */
export interface PickResult {
  readonly backend: MhaBackend;
  readonly name: string;
  readonly runtime: Runtime;
  readonly reason: string;
  readonly tried: readonly { readonly name: string; readonly error: string }[];
}

function envPreference(): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  const v = g.process?.env?.MHA_BACKEND;
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Picks the best installed backend for the current runtime: the first candidate (best first) that
 * supports the runtime and whose package loads. An explicit `prefer` (or `MHA_BACKEND`) selects one by
 * name and never falls back silently.
 *
 * @example
 * const { backend, name, reason } = await pickBackend();
 * console.log(`using ${name}: ${reason}`);
 * const mha = await backend.createModule(config, weights);
 */
export async function pickBackend(options: PickOptions = {}): Promise<PickResult> {
  const runtime = options.runtime ?? detectRuntime();
  const candidates = options.candidates ?? CANDIDATES;
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
  for (const c of candidates) {
    if (!c.runtimes.includes(runtime)) continue;
    try {
      const backend = await c.load();
      const skipped = tried.length > 0 ? `; skipped ${tried.map((t) => t.name).join(', ')} (not installed or not loadable)` : '';
      return { backend, name: c.name, runtime, reason: `best available for ${runtime}: ${c.why}${skipped}`, tried };
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
