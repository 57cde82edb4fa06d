// The release check's steps: each one timed, its outcome recorded, and a PASS/FAIL table at the end.

/** @typedef {{ name: string, status: 'pass' | 'fail' | 'skip', ms: number, detail: string }} StepResult */

/** Runs named steps in order; a failed step does not stop the ones that do not depend on it. */
export class Steps {
  /** @type {StepResult[]} */
  results = [];

  /** Set when the check is interrupted: later steps neither run nor report. */
  aborted = false;

  /**
   * Runs `fn` as a step. Its return value (a string) is the step's one-line detail. When `needs` names a step
   * that did not pass, this one is skipped.
   * @template T
   * @param {string} name
   * @param {() => Promise<string | void>} fn
   * @param {{ needs?: string[] }} [opts]
   * @returns {Promise<boolean>} whether the step passed
   */
  async step(name, fn, opts = {}) {
    if (this.aborted) return false;
    const missing = (opts.needs ?? []).filter((n) => this.results.find((r) => r.name === n)?.status !== 'pass');
    if (missing.length > 0) {
      this.results.push({ name, status: 'skip', ms: 0, detail: `needs ${missing.join(', ')}` });
      console.log(`SKIP  ${name}  (needs ${missing.join(', ')})`);
      return false;
    }
    console.log(`...   ${name}`);
    const t0 = Date.now();
    try {
      const detail = (await fn()) ?? '';
      const ms = Date.now() - t0;
      this.results.push({ name, status: 'pass', ms, detail });
      console.log(`PASS  ${name}  ${secs(ms)}${detail ? `  ${firstLine(detail)}` : ''}`);
      if (detail.includes('\n')) console.log(indent(detail.split('\n').slice(1).join('\n')));
      return true;
    } catch (e) {
      if (this.aborted) return false;
      const ms = Date.now() - t0;
      const detail = e instanceof Error ? e.message : String(e);
      this.results.push({ name, status: 'fail', ms, detail });
      console.log(`FAIL  ${name}  ${secs(ms)}\n${indent(detail)}`);
      return false;
    }
  }

  /** Whether every step passed (skipped steps count as not passed). */
  get passed() {
    return this.results.length > 0 && this.results.every((r) => r.status === 'pass');
  }

  /** The summary table and the closing PASS/FAIL line. */
  summary(totalMs) {
    const width = Math.max(...this.results.map((r) => r.name.length));
    const rows = this.results.map((r) => `  ${r.status.toUpperCase().padEnd(4)}  ${r.name.padEnd(width)}  ${secs(r.ms).padStart(6)}  ${r.status === 'pass' ? firstLine(r.detail) : firstLine(r.detail).slice(0, 100)}`);
    const failed = this.results.filter((r) => r.status === 'fail');
    const skipped = this.results.filter((r) => r.status === 'skip');
    const verdict =
      failed.length === 0 && skipped.length === 0
        ? `release check PASS: all ${this.results.length} steps passed in ${secs(totalMs)}`
        : `release check FAIL: ${failed.length} of ${this.results.length} steps failed${skipped.length ? `, ${skipped.length} skipped` : ''} in ${secs(totalMs)} (failed: ${failed.map((r) => r.name).join('; ')})`;
    return `${rows.join('\n')}\n\n${verdict}`;
  }
}

function secs(ms) {
  return `${(ms / 1000).toFixed(1)}s`;
}

function firstLine(text) {
  return text.split('\n')[0] ?? '';
}

function indent(text) {
  return text
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
}
