// One tfjs backend (?backend=cpu|wasm|webgl|webgpu) through @mha/backend-tfjs in the browser: the whole
// shared conformance suite, gated like the other pages. tfjs is loaded from its UMD builds behind ES
// module shims (see tfjs-shims.mjs); webgl and webgpu register themselves when imported.
import { caseList, load, loadSuiteInputs, runPage, say } from './harness.mjs';

runPage(async () => {
  const tfBackend = new URLSearchParams(location.search).get('backend');
  if (!['cpu', 'wasm', 'webgl', 'webgpu'].includes(tfBackend)) throw new Error(`unknown ?backend=${tfBackend}`);
  await load('@tensorflow/tfjs-core');
  if (tfBackend !== 'cpu') await load(`@tensorflow/tfjs-backend-${tfBackend}`);
  const { createTfjsBackend } = await load('@mha/backend-tfjs');
  const { runSuite } = await load('/conformance/suite.js');
  const { formatDetails, formatTable, summarise, totalsLine } = await load('/conformance/report.js');
  const problems = [];

  const backend = createTfjsBackend(tfBackend === 'wasm' ? { tfBackend, wasmPaths: '/tfjs/wasm/' } : { tfBackend });
  const inputs = await loadSuiteInputs();
  const started = performance.now();
  const report = await runSuite(backend, {
    ...inputs,
    repoProfile: true,
    onResult: (r) => {
      if (r.status === 'fail') say(`FAIL ${r.id}: ${r.reason ?? ''}`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const tf = await load('@tensorflow/tfjs-core');
  say(`tfjs ${tf.version_core} backend ${tf.getBackend()}; suite time ${seconds.toFixed(1)} s`);
  say(formatTable([report]));
  say(totalsLine([report]));
  const details = formatDetails([report]);
  if (details.trim() !== '') say(details);
  const byGroup = {};
  for (const r of report.results) byGroup[r.group] = (byGroup[r.group] ?? 0) + r.ms / 1000;
  say(`time by group: ${Object.entries(byGroup).map(([g, t]) => `${g} ${t.toFixed(1)} s`).join(', ')}`);
  const slowest = [...report.results].sort((x, y) => y.ms - x.ms).slice(0, 5);
  say(`slowest cases: ${slowest.map((r) => `${r.id} ${(r.ms / 1000).toFixed(1)} s`).join('; ')}`);
  await backend.dispose();
  const total = summarise(report.results).total;
  if (total.fail > 0) problems.push(`${total.fail} conformance case(s) failed on ${backend.name}`);
  if (total.pass === 0) problems.push(`no conformance case passed on ${backend.name}`);
  return { ok: problems.length === 0, problems, totals: total, seconds, suites: [caseList(report)] };
});
