// Single-threaded check: @mha/core's runtime detection, one tsBackend module forward against core's
// float64 reference, then the whole shared conformance suite on tsBackend. Conformance's index is not
// imported because it re-exports Node-only modules (fixture-files, onnx-peer, load-backend use
// node:fs); its browser-safe modules are imported one by one instead.
import { caseList, load, loadSuiteInputs, runPage, say } from './harness.mjs';

runPage(async () => {
  const core = await load('@mha/core');
  const { tsBackend } = await load('@mha/backend-ts');
  const { runSuite } = await load('/conformance/suite.js');
  const { formatDetails, formatTable, summarise, totalsLine } = await load('/conformance/report.js');
  const { compare } = await load('/conformance/compare.js');
  const { profileFor } = await load('/conformance/profiles.js');
  const problems = [];

  say(`userAgent: ${navigator.userAgent}`);
  const runtime = core.detectRuntime();
  say(`detectRuntime(): ${runtime}`);
  if (runtime !== 'browser') problems.push(`detectRuntime() returned '${runtime}', expected 'browser'`);

  // One module forward, checked against the float64 reference within the suite's own tolerance for 'ts'.
  const config = core.resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true, qkvBias: true });
  const weights = core.initWeights(config, 1);
  const x = core.randomTensor([2, 16, 64], 2);
  const module = await tsBackend.createModule(config, weights);
  const result = await module.forward(x, { returnAttentionWeights: true, trace: true });
  await module.dispose();
  const reference = core.referenceForward(config, weights, x);
  const { tolerance } = profileFor(tsBackend.name);
  const outCmp = compare(result.output, reference.output, tolerance);
  const weightsCmp = result.attentionWeights
    ? compare(result.attentionWeights, reference.attentionWeights, tolerance)
    : { ok: false, message: 'no attention weights returned', maxAbs: NaN };
  say(
    `example forward (B2 T16 D64 H4 causal): output [${result.output.shape}] max abs err ${outCmp.maxAbs.toExponential(2)}, ` +
      `weights [${result.attentionWeights?.shape ?? '-'}] max abs err ${weightsCmp.maxAbs.toExponential(2)}, ` +
      `trace steps ${result.trace?.length ?? 0}`,
  );
  if (!outCmp.ok) problems.push(`example output differs from the float64 reference: ${outCmp.message}`);
  if (!weightsCmp.ok) problems.push(`example attention weights differ from the float64 reference: ${weightsCmp.message}`);
  const traceMatches = JSON.stringify(result.trace) === JSON.stringify(core.expectedTrace(config, 2, 16));
  if (!traceMatches) problems.push(`example trace differs from expectedTrace: ${JSON.stringify(result.trace)}`);

  const inputs = await loadSuiteInputs();
  say(`fetched: ${inputs.fixtures.length} golden fixtures, ${inputs.moduleFixtures.length} module-feature and checkpoint fixtures, ${inputs.onnxPeer.length} ONNX peer cases`);
  const started = performance.now();
  const report = await runSuite(tsBackend, {
    ...inputs,
    repoProfile: true,
    onResult: (r) => {
      if (r.status === 'fail') say(`FAIL ${r.id}: ${r.reason ?? ''}`);
    },
  });
  say(`suite time: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  say(formatTable([report]));
  say(totalsLine([report]));
  const details = formatDetails([report]);
  if (details.trim() !== '') say(details);
  const total = summarise(report.results).total;
  if (total.fail > 0) problems.push(`${total.fail} conformance case(s) failed`);
  if (total.pass === 0) problems.push('no conformance case passed');
  return { ok: problems.length === 0, problems, totals: total, suites: [caseList(report)] };
});
