// @mha/backend-wasm in the browser: the module bytes are embedded, so no .wasm is served. Runs the shared
// conformance suite on wasmBackend (the relaxed-SIMD build where Chromium validates it), on the plain
// SIMD build, and on the threaded backend: 2 threads on a cross-origin isolated page (module Web Workers
// on a shared WebAssembly.Memory), else the one-thread fallback with its reason.
import { caseList, load, loadSuiteInputs, runPage, say } from './harness.mjs';

runPage(async () => {
  const { wasmBackend, createWasmBackend } = await load('@mha/backend-wasm');
  const { runSuite } = await load('/conformance/suite.js');
  const { formatDetails, formatTable, summarise, totalsLine } = await load('/conformance/report.js');
  const problems = [];
  const inputs = await loadSuiteInputs();
  say(`crossOriginIsolated: ${self.crossOriginIsolated}; wasmBackend.simd: ${wasmBackend.simd}`);
  if (wasmBackend.simd !== 'relaxed') problems.push(`wasmBackend picked '${wasmBackend.simd}', expected 'relaxed' in Chromium`);
  const threaded = createWasmBackend({ threads: 2, minWorkPerThread: 0 });
  say(`threads: ${threaded.threads} (${threaded.threadsUnavailable ?? 'available'})`);
  if (self.crossOriginIsolated && threaded.threads !== 2) problems.push(`isolated page but ${threaded.threads} thread(s): ${threaded.threadsUnavailable}`);
  if (!self.crossOriginIsolated && (threaded.threads !== 1 || !threaded.threadsUnavailable)) problems.push('not isolated, yet no one-thread fallback with a reason');
  const rows = self.crossOriginIsolated ? [['wasm-threads', threaded]] : [['wasm (relaxed)', wasmBackend], ['wasm (simd)', createWasmBackend({ simd: 'simd' })], ['wasm-threads (fallback)', threaded]];
  const totals = {};
  const suites = [];
  for (const [label, backend] of rows) {
    const started = performance.now();
    const report = await runSuite(backend, { ...inputs, repoProfile: true, onResult: (r) => r.status === 'fail' && say(`FAIL ${label} ${r.id}: ${r.reason ?? ''}`) });
    say(`${label}: suite time ${((performance.now() - started) / 1000).toFixed(1)} s`);
    say(formatTable([report]));
    say(totalsLine([report]));
    const details = formatDetails([report]);
    if (details.trim() !== '') say(details);
    const total = summarise(report.results).total;
    totals[label] = total;
    suites.push({ label, ...caseList(report) });
    if (total.fail > 0) problems.push(`${label}: ${total.fail} conformance case(s) failed`);
    if (total.pass === 0) problems.push(`${label}: no conformance case passed`);
  }
  await threaded.dispose();
  return { ok: problems.length === 0, problems, totals, suites };
});
