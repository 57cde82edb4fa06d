// Threaded check: what createTsBackend({ threads: 2 }) does in this page. Without cross-origin
// isolation it must fall back to one thread and say why; with it, Web Workers should take a share of
// every phase and give the same bits as tsBackend. The Worker constructor is wrapped (not replaced) so
// the page can tell whether workers were really started and answered, and why one failed.
import { caseList, load, loadSuiteInputs, runPage, say, sameBits } from './harness.mjs';

const workerLog = { started: 0, messages: 0, errors: [] };
const NativeWorker = globalThis.Worker;
if (typeof NativeWorker === 'function') {
  globalThis.Worker = class CountedWorker extends NativeWorker {
    constructor(url, options) {
      super(url, options);
      workerLog.started++;
      this.addEventListener('message', () => workerLog.messages++);
      this.addEventListener('error', (e) => workerLog.errors.push(e.message || `error event loading ${String(url)}`));
      this.addEventListener('messageerror', () => workerLog.errors.push('messageerror'));
    }
  };
}

/** Only catches a hang (5 minutes): a loaded machine may start workers slowly without anything being wrong. */
const HANG_GUARD_MS = 5 * 60_000;

/** Rejects after `ms` so a forward that never settles is reported instead of hanging the page. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Asks a probe worker whether `@mha/core` resolves there (the page's import map reaching workers). */
function probeWorkerImportMap() {
  if (typeof NativeWorker !== 'function') return Promise.resolve('no Worker API');
  const probe = new NativeWorker(new URL('./probe-worker.mjs', import.meta.url), { type: 'module' });
  return withTimeout(
    new Promise((resolve) => {
      probe.onmessage = (e) => resolve(String(e.data));
      probe.onerror = (e) => {
        e.preventDefault();
        resolve(`probe worker failed to load: ${e.message || 'no message'}`);
      };
    }),
    HANG_GUARD_MS,
    'probe worker',
  ).finally(() => probe.terminate());
}

runPage(async () => {
  const core = await load('@mha/core');
  const { createTsBackend, tsBackend, tsThreadsBackend } = await load('@mha/backend-ts');
  const result = {
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    tsThreadsBackend: { threads: tsThreadsBackend.threads, threadsUnavailable: tsThreadsBackend.threadsUnavailable },
  };
  say(`crossOriginIsolated: ${result.crossOriginIsolated}, SharedArrayBuffer: ${result.sharedArrayBuffer ? 'yes' : 'no'}`);
  say(`tsThreadsBackend: threads ${tsThreadsBackend.threads}, threadsUnavailable: ${tsThreadsBackend.threadsUnavailable ?? '-'}`);

  // minWorkPerThread 0: every phase is shared with the worker, however small.
  const threaded = createTsBackend({ threads: 2, minWorkPerThread: 0 });
  result.threads = threaded.threads;
  result.threadsUnavailable = threaded.threadsUnavailable;
  say(`createTsBackend({ threads: 2, minWorkPerThread: 0 }): threads ${threaded.threads}, threadsUnavailable: ${threaded.threadsUnavailable ?? '-'}`);

  const config = core.resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true, qkvBias: true });
  const weights = core.initWeights(config, 3);
  const x = core.randomTensor([2, 32, 64], 4);
  const single = await (await tsBackend.createModule(config, weights)).forward(x, { returnAttentionWeights: true });
  try {
    const module = await threaded.createModule(config, weights);
    const out = await withTimeout(module.forward(x, { returnAttentionWeights: true }), HANG_GUARD_MS, 'threaded forward');
    await module.dispose();
    result.forward = 'ok';
    result.bitIdentical =
      sameBits(out.output.data, single.output.data) && sameBits(out.attentionWeights.data, single.attentionWeights.data);
  } catch (error) {
    result.forward = error instanceof Error ? error.message : String(error);
  }
  result.workers = { ...workerLog, errors: [...workerLog.errors] };
  result.workerBareSpecifier = await probeWorkerImportMap();
  say(`bare specifier '@mha/core' inside a module worker: ${result.workerBareSpecifier}`);
  say(`threaded forward (B2 T32 D64 H4): ${result.forward}${result.forward === 'ok' ? `, bit-identical to tsBackend: ${result.bitIdentical}` : ''}`);
  say(`workers started: ${workerLog.started}, messages from workers: ${workerLog.messages}, worker errors: ${workerLog.errors.length ? workerLog.errors.join(' | ') : 'none'}`);

  // When workers really answered, run the whole suite through them as well.
  if (threaded.threads > 1 && result.forward === 'ok' && workerLog.messages > 0) {
    const { runSuite } = await load('/conformance/suite.js');
    const { formatDetails, formatTable, summarise, totalsLine } = await load('/conformance/report.js');
    const inputs = await loadSuiteInputs();
    const messagesBefore = workerLog.messages;
    const report = await runSuite(threaded, {
      ...inputs,
      repoProfile: true,
      onResult: (r) => {
        if (r.status === 'fail') say(`FAIL ${r.id}: ${r.reason ?? ''}`);
      },
    });
    say(formatTable([report]));
    say(totalsLine([report]));
    const details = formatDetails([report]);
    if (details.trim() !== '') say(details);
    result.suite = summarise(report.results).total;
    result.suites = [caseList(report)];
    result.suiteWorkerMessages = workerLog.messages - messagesBefore;
    say(`worker messages during the suite: ${result.suiteWorkerMessages}`);
  }
  await threaded.dispose();
  return { ok: true, ...result };
});
