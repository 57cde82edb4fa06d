// Drives the built explorer (examples/explorer/dist) in headless Chromium like a user, and opens an
// HTML conformance report with no network. Gated checks:
//   1. the book preset on two backends (ts, then tfjs-cpu side by side): every heatmap cell's weight
//      matches core's float64 reference, masked cells are exactly the causal ones, the trace is the spec's;
//   2. the pixels Chromium drew for each cell have the colour of the reference weight (screenshot decoded);
//   3. the masked core-op preset: padding keys are drawn masked;
//   4. the conformance suite runs in the page (causal-mask group on ts) with a progress bar and a report;
//   5. an `mha-conformance --html` style report opens from file:// with no request and no console error.
// Screenshots go to scripts/browser/out/ (not in git). Usage: `pnpm test:explorer`, or after
// `pnpm --filter mha-explorer... build`: `node scripts/browser/explorer.mjs`.
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodePng } from './png.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const dist = join(repo, 'examples', 'explorer', 'dist');
const out = join(here, 'out');

const { chromium } = await import('playwright-core').catch(() => {
  console.error('playwright-core is missing: run `npm install` in scripts/browser first (see its README).');
  process.exit(2);
});
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` or set CHROMIUM_PATH.`);
  process.exit(2);
}
if (!existsSync(join(dist, 'index.html'))) {
  console.error(`no built explorer at ${dist}: run \`pnpm --filter mha-explorer... build\` first.`);
  process.exit(2);
}
const core = await import(pathToFileURL(join(repo, 'packages', 'core', 'dist', 'index.js')).href);
const conf = await import(pathToFileURL(join(repo, 'conformance', 'dist', 'index.js')).href);
const files = await import(pathToFileURL(join(repo, 'conformance', 'dist', 'fixture-files.js')).href);

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 5 * 60_000; // hang guard only (a loaded machine may be slow; nothing here measures speed)
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml' };

/** Serves dist/ with COOP/COEP (as `vite preview` does), so ts-threads gets SharedArrayBuffer. */
function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = resolve(dist, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (!(file === dist || file.startsWith(dist + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((c) => server.close(c)) })));
}

const problems = [];
const fail = (what) => {
  problems.push(what);
  console.log(`  FAIL ${what}`);
};
const close = (a, e, atol = 1e-5, rtol = 1e-4) => Math.abs(a - e) <= atol + rtol * Math.abs(e);

/** Page errors, console errors and failed requests, reported as problems. */
function watch(page, label) {
  page.on('pageerror', (e) => fail(`${label}: page error ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') fail(`${label}: console error ${m.text()}`);
  });
  page.on('requestfailed', (r) => fail(`${label}: request failed ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) fail(`${label}: HTTP ${r.status()} ${r.url()}`);
  });
}

/** Every heatmap grid with this role: its backend, head and cells. */
async function grids(page, role) {
  return page.$$eval(`.grid[data-role="${role}"]`, (gs) =>
    gs.map((g) => ({
      backend: g.dataset.backend,
      head: Number(g.dataset.head),
      batch: Number(g.dataset.batch ?? 0),
      cells: [...g.querySelectorAll('.cell')].map((c) => ({ i: Number(c.dataset.i), j: Number(c.dataset.j), w: Number(c.dataset.weight), masked: c.dataset.masked === '1' })),
    })),
  );
}

async function runPreset(page, preset, a, b) {
  await page.selectOption('#preset', preset);
  await page.selectOption('#backend-a', a);
  await page.selectOption('#backend-b', b);
  await page.evaluate(() => delete document.body.dataset.state);
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: TIMEOUT });
  const status = await page.textContent('#status');
  if (status !== 'done') fail(`${preset} on ${a}${b ? ` + ${b}` : ''}: status "${status}"`);
  return status;
}

/** Checks heatmap cells against reference weights [B, H, T, T] (batch item 0). */
function checkCells(label, gs, ref, masked) {
  const [, H, T, Tk] = ref.shape;
  if (gs.length !== H) fail(`${label}: ${gs.length} heatmaps, expected ${H} heads`);
  let checked = 0;
  for (const g of gs) {
    if (g.cells.length !== T * Tk) fail(`${label} head ${g.head}: ${g.cells.length} cells, expected ${T * Tk}`);
    for (const c of g.cells) {
      const e = ref.data[(g.head * T + c.i) * Tk + c.j];
      if (!close(c.w, e)) fail(`${label} head ${g.head} [${c.i},${c.j}]: page shows ${c.w}, reference ${e}`);
      if (c.masked !== masked(c.i, c.j)) fail(`${label} head ${g.head} [${c.i},${c.j}]: masked=${c.masked}, expected ${masked(c.i, c.j)}`);
      checked++;
    }
  }
  return checked;
}

/** Screenshots each main heatmap and compares every cell's centre pixel with the reference weight's colour. */
async function checkPixels(page, label, ref, masked) {
  const [, H, T, Tk] = ref.shape;
  const handles = await page.$$('.grid[data-role="main"]');
  let checked = 0;
  for (let h = 0; h < Math.min(H, handles.length); h++) {
    const grid = handles[h];
    const png = decodePng(await grid.screenshot());
    const box = await grid.boundingBox();
    const cells = await grid.$$eval('.cell', (cs) => cs.map((c) => { const r = c.getBoundingClientRect(); return { i: Number(c.dataset.i), j: Number(c.dataset.j), x: r.left + r.width / 2, y: r.top + r.height / 2 }; }));
    const refs = cells.map((c) => ref.data[(h * T + c.i) * Tk + c.j]);
    const colours = await page.evaluate((ws) => ws.map((w) => window.__mhaExplorer.weightColour(w)), refs);
    // The scale itself must tell weights apart: weight 0 white, weight 1 a dark blue.
    const [zero, one] = await page.evaluate(() => [window.__mhaExplorer.weightColour(0), window.__mhaExplorer.weightColour(1)]);
    if (zero.join() !== '255,255,255' || !(one[0] < 80 && one[2] > one[0] + 100)) fail(`weight colour scale: 0 -> rgb(${zero}), 1 -> rgb(${one})`);
    for (const [k, c] of cells.entries()) {
      const px = png.pixel(Math.round(c.x - box.x), Math.round(c.y - box.y));
      if (masked(c.i, c.j)) {
        // hatched grey: neutral and darker than any weight colour near 0
        const grey = Math.max(...px) - Math.min(...px) < 24 && px[0] < 200;
        if (!grey) fail(`${label} head ${h} [${c.i},${c.j}]: masked cell drawn rgb(${px}), expected the grey hatch`);
      } else if (px.some((v, n) => Math.abs(v - colours[k][n]) > 3)) {
        fail(`${label} head ${h} [${c.i},${c.j}]: drawn rgb(${px}), weight ${refs[k]} should be rgb(${colours[k]})`);
      }
      checked++;
    }
  }
  return checked;
}

async function main() {
  mkdirSync(out, { recursive: true });
  const server = await serve();
  const userDataDir = mkdtempSync(join(tmpdir(), 'mha-explorer-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
  const started = performance.now();
  try {
    const page = await context.newPage();
    watch(page, 'explorer');
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: TIMEOUT });
    if (!(await page.evaluate(() => globalThis.crossOriginIsolated))) fail('explorer page is not cross-origin isolated');

    // 1 + 2: the book preset against the float64 reference on the book's fixture.
    const book = conf.parseFixture(JSON.parse(readFileSync(join(repo, 'fixtures', 'golden', 'book-mha-ch03.json'), 'utf8')));
    const ref = core.referenceForward(book.config, book.weights, book.x);
    const refW = ref.attentionWeights;
    const causal = (i, j) => j > i;
    await runPreset(page, 'book', 'ts', 'tfjs-cpu');
    const main = await grids(page, 'main');
    const n1 = checkCells('book/ts', main, refW, causal);
    const n2 = checkCells('book/tfjs-cpu (side by side)', await grids(page, 'compare-b'), refW, causal);
    const labels = await page.$$eval('.grid[data-role="main"] .row-label', (ls) => ls.slice(0, 6).map((l) => l.textContent));
    if (labels.join(' ') !== 'Your journey starts with one step') fail(`token labels "${labels.join(' ')}"`);
    const trace = await page.$$eval('#trace .step', (ss) => ss.map((s) => `${s.dataset.step} ${s.querySelector('code').textContent}`));
    const want = ['input [2, 6, 3]', 'project [2, 6, 3, 2, 1]', 'split [2, 2, 6, 1]', 'scores [2, 2, 6, 6]', 'mask [2, 2, 6, 6]', 'softmax [2, 2, 6, 6]', 'context [2, 2, 6, 1]', 'merge [2, 6, 2]', 'output [2, 6, 2]'];
    if (trace.join('|') !== want.join('|')) fail(`trace pipeline ${JSON.stringify(trace)}`);
    const errors = await page.$$eval('table.errors tr[data-backend]', (rs) => rs.map((r) => [r.dataset.backend, Number(r.cells[1].textContent), Number(r.cells[2].textContent)]));
    if (errors.length !== 2 || errors.some(([, o, w]) => !(o <= 1e-5) || !(w <= 1e-5))) fail(`max errors vs reference ${JSON.stringify(errors)}`);
    const n3 = await checkPixels(page, 'book/ts pixels', refW, causal);
    await page.hover('.grid[data-role="main"] .cell[data-i="3"][data-j="1"]');
    const tip = await page.textContent('#tip');
    if (!tip.includes(`with -> journey: weight ${String(main[0].cells.find((c) => c.i === 3 && c.j === 1).w)}`)) fail(`hover tooltip "${tip}"`);
    await page.screenshot({ path: join(out, 'explorer-book.png'), fullPage: true });
    console.log(`  book preset: ${n1 + n2} cells match the float64 reference (ts, tfjs-cpu), ${n3} pixels match their weight's colour`);

    // The other browser backends: GPT-2 width on ts-threads (Web Workers) beside tfjs-wasm.
    await runPreset(page, 'gpt2', 'ts-threads', 'tfjs-wasm');
    const gpt = await page.$$eval('table.errors tr[data-backend]', (rs) => rs.map((r) => [r.dataset.backend, r.cells[1].textContent, r.cells[2]?.textContent]));
    // |output| here is ~1: float32 accumulation over 768 inputs stays well under 1e-4.
    if (gpt.map((g) => g[0]).join() !== 'ts-threads,tfjs-wasm' || gpt.some(([, o, w]) => !(Number(o) <= 1e-4) || !(Number(w) <= 1e-5))) fail(`gpt2 errors vs reference ${JSON.stringify(gpt)}`);
    const heads = await page.locator('.grid[data-role="main"]').count();
    if (heads !== 12) fail(`gpt2: ${heads} head heatmaps, expected 12`);
    await page.screenshot({ path: join(out, 'explorer-gpt2.png'), fullPage: true });
    console.log(`  gpt2 preset on ts-threads + tfjs-wasm: max errors vs reference ${gpt.map(([b, o, w]) => `${b} output ${o}, weights ${w}`).join('; ')}`);
    // wasm-threads (its Web Worker emitted by Vite) beside wasm: the projections here are large enough
    // to be shared with the worker, and a worker that fails to load fails the run.
    await runPreset(page, 'gpt2', 'wasm-threads', 'wasm');
    const wgpt = await page.$$eval('table.errors tr[data-backend]', (rs) => rs.map((r) => [r.dataset.backend, r.cells[1].textContent, r.cells[2]?.textContent]));
    if (wgpt.map((g) => g[0]).join() !== 'wasm-threads,wasm' || wgpt.some(([, o, w]) => !(Number(o) <= 1e-4) || !(Number(w) <= 1e-5))) fail(`gpt2 (wasm) errors vs reference ${JSON.stringify(wgpt)}`);
    console.log(`  gpt2 preset on wasm-threads + wasm: max errors vs reference ${wgpt.map(([b, o, w]) => `${b} output ${o}, weights ${w}`).join('; ')}`);

    // 3: the masked core-op preset on ts: padding keys 6, 7 and the causal triangle are masked.
    await runPreset(page, 'masked', 'ts', 'wasm');
    const wasmErr = await page.$$eval('table.errors tr[data-backend]', (rs) => rs.map((r) => [r.dataset.backend, Number(r.cells[1].textContent), Number(r.cells[2]?.textContent)]));
    if (wasmErr.map((r) => r[0]).join() !== 'ts,wasm' || wasmErr.some(([, o, w]) => !(o <= 1e-5) || !(w <= 1e-5))) fail(`masked preset errors vs reference ${JSON.stringify(wasmErr)}`);
    const masked = await grids(page, 'main');
    const pad = (i, j) => j > i || j >= 6;
    let n4 = 0;
    for (const g of masked) for (const c of g.cells) {
      n4++;
      if (c.masked !== pad(c.i, c.j)) fail(`masked preset head ${g.head} [${c.i},${c.j}]: masked=${c.masked}`);
      if (c.masked && c.w !== 0) fail(`masked preset head ${g.head} [${c.i},${c.j}]: masked cell has weight ${c.w}`);
    }
    await page.screenshot({ path: join(out, 'explorer-masked.png'), fullPage: true });
    console.log(`  masked preset (ts, wasm beside it): ${n4} cells, padding and causal cells drawn masked; errors vs reference ${wasmErr.map(([b, o, w]) => `${b} ${o}/${w}`).join(', ')}`);

    // 4: the suite in the page, one group to keep CI short.
    await page.selectOption('#suite-backend', 'ts');
    await page.selectOption('#suite-group', 'causal-mask');
    await page.click('#run-suite');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.suite), null, { timeout: TIMEOUT });
    const suiteStatus = await page.textContent('#suite-status');
    const progress = await page.$eval('#suite-progress', (p) => [p.value, p.max]);
    if (!/^\d+ passed, 0 failed/.test(suiteStatus) || progress[0] !== progress[1] || progress[1] < 10) fail(`in-page suite: "${suiteStatus}", progress ${progress}`);
    const frame = page.frameLocator('#suite-report');
    const rows = await frame.locator('#summary tr[data-backend="ts"] td.pass').count();
    if (rows < 1) fail('in-page suite: the report has no passing ts cell');
    await page.locator('#suite-report').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(out, 'explorer-suite.png') });
    console.log(`  in-page suite: ${suiteStatus}`);
    await page.close();

    // 5: an HTML report from the CLI's writer opens offline with no request and no console error.
    const fixtures = files.loadFixtureDir(files.builtinFixturesDir());
    const reports = [await conf.runSuite(conf.referenceBackend, { fixtures, groups: ['causal-mask'] }), await conf.runSuite(conf.buggyBackend('causal-off-by-one'), { fixtures, groups: ['causal-mask'] })];
    const tmp = mkdtempSync(join(tmpdir(), 'mha-html-'));
    const file = join(tmp, 'report.html');
    writeFileSync(file, conf.formatHtmlReport(reports, { date: new Date().toISOString(), machine: { node: process.version } }));
    const rp = await context.newPage();
    watch(rp, 'html report');
    const requests = [];
    rp.on('request', (r) => requests.push(r.url()));
    await rp.goto(pathToFileURL(file).href);
    const heat = await rp.locator('[aria-label="error heatmap"]').count();
    const failCells = await rp.locator('#summary td.fail').count();
    if (heat < 1 || failCells < 1) fail(`html report: ${heat} heatmaps, ${failCells} failing cells`);
    if (requests.length !== 1) fail(`html report made ${requests.length - 1} request(s) besides itself: ${requests.slice(1).join(', ')}`);
    await rp.screenshot({ path: join(out, 'report.png'), fullPage: false });
    console.log(`  html report: ${heat} error heatmaps, ${failCells} failing cells, no request besides the file`);
    await rp.close();
    rmSync(tmp, { recursive: true, force: true });
  } finally {
    await context.close();
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  console.log(`explorer check: ${problems.length === 0 ? 'PASS' : `FAIL (${problems.length} problem(s))`} in ${((performance.now() - started) / 1000).toFixed(1)} s; screenshots in ${out}`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
