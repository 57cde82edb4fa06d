// @mha/backend-onnxruntime/web (the ort-web row: onnxruntime-web's WebAssembly build) in the browser.
// onnxruntime-web's files are served from node_modules at /ort-web/ and named by wasmPaths; the page asks
// for 2 threads: a cross-origin isolated page must get them (and onnxruntime-web must start workers),
// any other page must fall back to one thread with the reason and start none. Then one module forward
// against core's float64 reference, and the whole shared conformance suite (the Node CLI's case list, as
// run.mjs checks), gated like the other pages.
import { caseList, load, loadSuiteInputs, runPage, say } from './harness.mjs';

// Counted, not replaced, so onnxruntime-web's thread pool is seen starting (or not).
let workersStarted = 0;
const NativeWorker = globalThis.Worker;
if (typeof NativeWorker === 'function') {
  globalThis.Worker = class CountedWorker extends NativeWorker {
    constructor(...args) {
      super(...args);
      workersStarted++;
    }
  };
}

runPage(async () => {
  const { createOrtWebBackend } = await load('@mha/backend-onnxruntime/web');
  const { initWeights, randomTensor, referenceForward, resolveConfig } = await load('@mha/core');
  const { runSuite } = await load('/conformance/suite.js');
  const { formatDetails, formatTable, summarise, totalsLine } = await load('/conformance/report.js');
  const problems = [];
  const isolated = self.crossOriginIsolated;

  const backend = createOrtWebBackend({ wasmPaths: '/ort-web/', threads: 2 });
  say(`crossOriginIsolated: ${isolated}; threads: ${backend.threads} (${backend.threadsUnavailable ?? 'available'})`);
  if (isolated && backend.threads !== 2) problems.push(`isolated page but ${backend.threads} thread(s): ${backend.threadsUnavailable}`);
  if (!isolated && (backend.threads !== 1 || !backend.threadsUnavailable)) problems.push('not isolated, yet no one-thread fallback with a reason');

  const config = resolveConfig({ dIn: 64, dOut: 64, heads: 4, causal: true, qkvBias: true });
  const weights = initWeights(config, 7);
  const x = randomTensor([2, 16, 64], 8);
  const module = await backend.createModule(config, weights);
  const { output } = await module.forward(x);
  await module.dispose();
  const ref = referenceForward(config, weights, x).output.data;
  let maxErr = 0;
  let outside = 0;
  ref.forEach((e, i) => {
    const err = Math.abs(output.data[i] - e);
    maxErr = Math.max(maxErr, err);
    if (!(err <= 1e-5 + 1e-4 * Math.abs(e))) outside++;
  });
  say(`example forward (B2 T16 D64 H4 causal): max abs err ${maxErr.toExponential(2)}`);
  if (outside > 0 || output.data.length !== ref.length) problems.push(`module forward: ${outside} element(s) outside the float32 tolerance of the float64 reference`);

  const wasmFetched = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.wasm'));
  say(`WebAssembly fetched: ${wasmFetched.join(', ') || 'none'}; workers started: ${workersStarted}`);
  if (!wasmFetched.includes('/ort-web/ort-wasm-simd-threaded.wasm')) problems.push('onnxruntime-web did not load its .wasm from wasmPaths (/ort-web/)');
  if (isolated && workersStarted === 0) problems.push('2 threads granted but onnxruntime-web started no worker');
  if (!isolated && workersStarted !== 0) problems.push(`${workersStarted} worker(s) started on one thread`);

  const inputs = await loadSuiteInputs();
  const started = performance.now();
  const report = await runSuite(backend, { ...inputs, repoProfile: true, onResult: (r) => r.status === 'fail' && say(`FAIL ${r.id}: ${r.reason ?? ''}`) });
  const seconds = (performance.now() - started) / 1000;
  say(`ort-web (${backend.threads} thread(s)): suite time ${seconds.toFixed(1)} s`);
  say(formatTable([report]));
  say(totalsLine([report]));
  const details = formatDetails([report]);
  if (details.trim() !== '') say(details);
  await backend.dispose();
  const total = summarise(report.results).total;
  if (total.fail > 0) problems.push(`${total.fail} conformance case(s) failed on ort-web`);
  if (total.pass === 0) problems.push('no conformance case passed on ort-web');
  return { ok: problems.length === 0, problems, totals: total, seconds, threads: backend.threads, suites: [{ label: `${backend.threads} thread(s)`, ...caseList(report) }] };
});
