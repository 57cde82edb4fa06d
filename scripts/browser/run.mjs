// Runs @mha/core and the backends in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): the shared conformance suite on tsBackend, the threaded backend without and with
// cross-origin isolation, @mha/backend-wasm on both kinds of page, tfjs-cpu and tfjs-wasm, then, in a
// browser with SwiftShader's WebGPU adapter, @mha/backend-webgpu, tfjs-webgl and tfjs-webgpu. Every suite
// must be the Node CLI's case list (case-list.mjs). Prints what the pages log; exits 1 on a failed check,
// a page error or a page that never reports. Usage: `pnpm test:browser` (builds first), or
// `node scripts/browser/run.mjs`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './server.mjs';
import { nodeCaseList, checkCaseList } from './case-list.mjs';

// playwright-core lives in this folder's own node_modules, outside the pnpm workspace.
const { chromium } = await import('playwright-core').catch(() => {
  console.error('playwright-core is missing: run `npm install` in scripts/browser first (see its README).');
  process.exit(2);
});

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` or set CHROMIUM_PATH (see scripts/browser/README.md).`);
  process.exit(2);
}
/** The flags the check was specified with; playwright adds its own automation flags on top. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/**
 * The WebGPU run: SwiftShader's Vulkan on the CPU gives Chromium a WebGPU adapter without a GPU (measured
 * with Debian's Chromium 156). A separate browser, because `--disable-gpu` above is what the other pages
 * were specified with (and what the adapter-absent page relies on).
 */
const WEBGPU_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-gpu-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Opt-in (slow on SwiftShader): the webgpu suite a second time with the per-row attention kernel everywhere. */
const FULL = process.env.MHA_BROWSER_FULL === '1';
/** The case list `mha-conformance` runs in Node, which every browser row must match. */
const NODE_CASES = await nodeCaseList();
{
  // The comparison itself must catch a missing case and a runtime skip, or it proves nothing.
  const [first, second, ...rest] = NODE_CASES;
  const broken = { backend: 'self-check', results: [{ id: second.id, status: 'skip', reason: 'backend declares runtimes node; this runtime is browser' }, ...rest.map((c) => ({ id: c.id, status: 'pass' }))] };
  const found = checkCaseList(broken, NODE_CASES).problems;
  if (!found.some((p) => p.includes(first.id)) || !found.some((p) => p.includes('nothing declares'))) throw new Error(`case-list check missed a planted problem: ${JSON.stringify(found)}`);
}
/** One line per suite run: row, pass/fail/skip. */
const rows = [];
/** Only a guard against a page that never reports: the tfjs GPU pages take minutes on a loaded machine. */
const PAGE_TIMEOUT_MS = 45 * 60_000;

/** Opens `url`, echoes its console, and returns the verdict the page publishes plus any page errors. */
async function runPage(context, url, label) {
  const page = await context.newPage();
  const pageErrors = [];
  page.on('console', (msg) => {
    const text = msg.text();
    for (const line of text.split('\n')) console.log(`[${label}] ${msg.type() === 'log' ? '' : `${msg.type()}: `}${line}`);
  });
  page.on('pageerror', (error) => {
    pageErrors.push(error.message);
    console.log(`[${label}] PAGE ERROR: ${error.message}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) console.log(`[${label}] HTTP ${response.status()} ${response.url()}`);
  });
  page.on('requestfailed', (request) => console.log(`[${label}] request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  let verdict;
  try {
    await page.goto(url);
    await page.waitForFunction(() => '__mhaResult' in window, null, { timeout: PAGE_TIMEOUT_MS, polling: 250 });
    verdict = await page.evaluate(() => window.__mhaResult);
  } catch (error) {
    verdict = { ok: false, error: `no verdict from the page: ${error instanceof Error ? error.message : String(error)}` };
  }
  await page.close();
  // Every suite a page ran must be the Node CLI's case list, with no skip but declared ones.
  const listProblems = (verdict.suites ?? []).flatMap((suite) => {
    const { problems, summary } = checkCaseList(suite, NODE_CASES);
    rows.push(summary);
    for (const p of problems) console.log(`[${label}] CASE LIST: ${p}`);
    return problems;
  });
  if (listProblems.length > 0) verdict = { ...verdict, problems: [...(verdict.problems ?? []), ...listProblems] };
  return { ...verdict, pageErrors };
}

/** The fallback the backend promises where SharedArrayBuffer is missing: one thread, a reason, same bits. */
function checkFallback(v) {
  const problems = [];
  if (v.crossOriginIsolated) problems.push('page unexpectedly cross-origin isolated');
  if (v.threads !== 1) problems.push(`threads ${v.threads}, expected 1`);
  if (typeof v.threadsUnavailable !== 'string' || v.threadsUnavailable === '') problems.push('no threadsUnavailable reason');
  if (v.forward !== 'ok') problems.push(`forward failed: ${v.forward}`);
  else if (!v.bitIdentical) problems.push('fallback output not bit-identical to tsBackend');
  if (v.workers?.started) problems.push(`${v.workers.started} worker(s) started despite the fallback`);
  return problems;
}

/** What cross-origin isolation should give: 2 threads, workers that answer, same bits, a passing suite. */
function checkIsolated(v) {
  const problems = [];
  if (!v.crossOriginIsolated) problems.push('page not cross-origin isolated despite COOP/COEP');
  if (v.threads !== 2) problems.push(`threads ${v.threads} (${v.threadsUnavailable ?? 'no reason'}), expected 2`);
  if (v.forward !== 'ok') problems.push(`threaded forward failed: ${v.forward}`);
  else if (!v.bitIdentical) problems.push('threaded output not bit-identical to tsBackend');
  if (!v.workers?.messages) problems.push(`workers never answered (started ${v.workers?.started ?? 0}; errors: ${v.workers?.errors?.join(' | ') || 'none'})`);
  if (v.suite && v.suite.fail > 0) problems.push(`${v.suite.fail} conformance case(s) failed on the threaded backend`);
  return problems;
}

async function main() {
  const stepStarted = Date.now();
  const userDataDir = mkdtempSync(join(tmpdir(), 'mha-chromium-'));
  const plain = await startServer({ isolated: false });
  const isolated = await startServer({ isolated: true });
  const gpuDataDir = mkdtempSync(join(tmpdir(), 'mha-chromium-webgpu-'));
  let context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  let gpuContext;
  const outcomes = [];
  const notRun = [];
  try {
    console.log(`chromium ${context.browser()?.version() ?? '(version unknown)'} at ${CHROMIUM}`);

    const suite = await runPage(context, `${plain.origin}/suite.html`, 'ts');
    outcomes.push(['tsBackend + conformance suite', [...(suite.problems ?? []), ...(suite.error ? [suite.error] : [])], suite.pageErrors]);

    const fallback = await runPage(context, `${plain.origin}/threads.html`, 'threads, not isolated');
    outcomes.push(['threads: 2 without COOP/COEP (fallback)', fallback.error ? [fallback.error] : checkFallback(fallback), fallback.pageErrors]);

    // Plain ES modules and an import map: the worker chain has no bare specifier (import maps do not reach
    // module workers), so the workers load, and the whole suite then runs on them. Bundled builds are
    // covered by scripts/bundle (esbuild and Vite).
    const coi = await runPage(context, `${isolated.origin}/threads.html`, 'threads, COOP/COEP');
    // checkIsolated judges the page's fields; `problems` holds only the case-list check's findings here.
    const coiProblems = coi.error ? [coi.error] : [...checkIsolated(coi), ...(coi.problems ?? [])];
    if (!coi.error && coi.suite === undefined) coiProblems.push('the suite did not run on the threaded backend');
    outcomes.push(['threads: 2 with COOP/COEP, plain ES modules + import map, then the suite on ts-threads', coiProblems, coi.pageErrors]);

    for (const [server, label] of [[plain, 'wasm'], [isolated, 'wasm, COOP/COEP']]) {
      const w = await runPage(context, `${server.origin}/wasm.html`, label);
      outcomes.push([`@mha/backend-wasm + conformance suite (${label === 'wasm' ? 'relaxed and plain SIMD, threads fallback' : 'wasm-threads, 2 threads'})`, [...(w.problems ?? []), ...(w.error ? [w.error] : [])], w.pageErrors]);
    }

    for (const tfBackend of ['cpu', 'wasm']) {
      const r = await runPage(context, `${plain.origin}/tfjs.html?backend=${tfBackend}`, `tfjs-${tfBackend}`);
      outcomes.push([`tfjs-${tfBackend} (@mha/backend-tfjs) + conformance suite`, [...(r.problems ?? []), ...(r.error ? [r.error] : [])], r.pageErrors]);
    }

    for (const [server, label] of [[plain, 'ort-web'], [isolated, 'ort-web, COOP/COEP']]) {
      const r = await runPage(context, `${server.origin}/ort-web.html`, label);
      outcomes.push([`ort-web (@mha/backend-onnxruntime/web) + conformance suite (${server === plain ? 'one-thread fallback' : '2 threads'})`, [...(r.problems ?? []), ...(r.error ? [r.error] : [])], r.pageErrors]);
    }

    const absent = await runPage(context, `${plain.origin}/webgpu-absent.html`, 'webgpu, no adapter');
    outcomes.push(['webgpu without an adapter: MHA_BACKEND_UNAVAILABLE', [...(absent.problems ?? []), ...(absent.error ? [absent.error] : [])], absent.pageErrors]);
    await context.close();
    context = undefined;

    gpuContext = await chromium.launchPersistentContext(gpuDataDir, { executablePath: CHROMIUM, headless: true, args: WEBGPU_FLAGS });
    const timed = async (url, label) => {
      const started = Date.now();
      const r = await runPage(gpuContext, url, label);
      console.log(`[${label}] page time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return [[...(r.problems ?? []), ...(r.error ? [r.error] : [])], r.pageErrors];
    };
    outcomes.push([
      `webgpu backend + conformance suite (SwiftShader adapter${FULL ? '; again with the per-row kernel' : ''})`,
      ...(await timed(`${plain.origin}/webgpu.html${FULL ? '?full=1' : ''}`, 'webgpu')),
    ]);
    // tfjs's GPU backends on the same SwiftShader (GL for webgl, the WebGPU adapter for webgpu).
    outcomes.push(['tfjs-webgl (@mha/backend-tfjs, SwiftShader GL) + conformance suite', ...(await timed(`${plain.origin}/tfjs.html?backend=webgl`, 'tfjs-webgl'))]);
    outcomes.push(['tfjs-webgpu (@mha/backend-tfjs, SwiftShader adapter) + conformance suite', ...(await timed(`${plain.origin}/tfjs.html?backend=webgpu`, 'tfjs-webgpu'))]);
    if (!FULL) notRun.push('webgpu suite with the per-row kernel everywhere: not run (MHA_BROWSER_FULL=1 runs it; about 1.5 min more on SwiftShader)');
  } finally {
    await context?.close();
    await gpuContext?.close();
    await plain.close();
    await isolated.close();
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(gpuDataDir, { recursive: true, force: true });
  }

  console.log('\nSummary');
  let failed = false;
  for (const [name, problems, pageErrors] of outcomes) {
    const all = [...problems, ...pageErrors.map((e) => `page error: ${e}`)];
    failed ||= all.length > 0;
    console.log(`  ${all.length === 0 ? 'PASS' : 'FAIL'}  ${name}`);
    for (const p of all) console.log(`        - ${p}`);
  }
  for (const line of notRun) console.log(`  SKIP  ${line}`);
  console.log(`\nRows (passed/failed/skipped of the ${NODE_CASES.length} cases mha-conformance runs in Node)`);
  for (const row of rows) console.log(`  ${row}`);
  console.log(`\nbrowser check time: ${((Date.now() - stepStarted) / 1000).toFixed(0)} s`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
