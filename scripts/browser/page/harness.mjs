// What the pages share: every line goes to the console (run.mjs prints it), and the final verdict is
// published as `window.__mhaResult`, which run.mjs waits for. A page never ends without a verdict:
// an exception becomes a failed result carrying its message.

/** Logs one line of the report. */
export function say(line) {
  console.log(line);
}

/** Runs `body` (which returns `{ ok, ... }`) and publishes its verdict, or the error it threw. */
export function runPage(body) {
  body().then(
    (result) => {
      window.__mhaResult = result;
    },
    (error) => {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      console.error(`page check threw: ${message}`);
      window.__mhaResult = { ok: false, error: message };
    },
  );
}

/**
 * Imports a module, turning a load failure into an error that names the module: a browser reports a
 * failed import (a `node:` built-in, an unmapped bare specifier) only as a generic TypeError.
 */
export async function load(specifier) {
  try {
    return await import(specifier);
  } catch (error) {
    throw new Error(`could not import ${specifier}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Every built-in input of the suite (golden, module-feature and checkpoint fixtures, ONNX peer cases),
 * fetched from conformance's dist/fixtures with its own browser loader: the case list the Node CLI runs.
 * Spread it into `runSuite`'s options.
 */
export async function loadSuiteInputs() {
  const { fetchSuiteInputs } = await load('/conformance/fetch-fixtures.js');
  return fetchSuiteInputs('/conformance/fixtures/');
}

/**
 * A suite report as run.mjs checks it against the Node case list: each case's id and status, and the
 * reason of a skip. Pages return these as `suites` in their verdict.
 */
export function caseList(report) {
  return { backend: report.backend, results: report.results.map((r) => ({ id: r.id, status: r.status, ...(r.status === 'skip' ? { reason: r.reason } : {}) })) };
}

/** True when both float32 arrays hold exactly the same bits (NaN payloads and -0 included). */
export function sameBits(a, b) {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}
