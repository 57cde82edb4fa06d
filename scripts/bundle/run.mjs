// Bundle check (issue 18): builds the small app in ./app with esbuild and with Vite (installed from npm in
// this folder), for Node and for the browser, the way a user's project would, then runs every bundle:
// Node bundles with node, browser bundles in headless Chromium (Debian's /usr/bin/chromium) served with
// COOP/COEP so ts-threads and wasm-threads get their Web Workers. Browser bundles must hold no Node-only code. The app's
// project is a temporary folder whose node_modules/@mha/* link to this workspace's built packages.
// Usage: `pnpm test:bundle` (builds first), or `node scripts/bundle/run.mjs`. Exit 0 pass, 1 fail, 2 setup.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const setup = (message) => {
  console.error(message);
  process.exit(2);
};
const esbuild = await import('esbuild').catch(() => setup('esbuild is missing: run `npm ci` in scripts/bundle first.'));
const vite = await import('vite').catch(() => setup('vite is missing: run `npm ci` in scripts/bundle first.'));
const webpack = (await import('webpack').catch(() => setup('webpack is missing: run `npm ci` in scripts/bundle first.'))).default;
const { rollup } = await import('rollup').catch(() => setup('rollup is missing: run `npm ci` in scripts/bundle first.'));
const { nodeResolve } = await import('@rollup/plugin-node-resolve').catch(() => setup('@rollup/plugin-node-resolve is missing: run `npm ci` in scripts/bundle first.'));
const commonjs = (await import('@rollup/plugin-commonjs').catch(() => setup('@rollup/plugin-commonjs is missing: run `npm ci` in scripts/bundle first.'))).default;
const { chromium } = await import('playwright-core').catch(() => setup('playwright-core is missing: run `npm ci` in scripts/bundle first.'));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The published packages the app's project gets, linked from the workspace (built first). */
const PACKAGES = { core: 'packages/core', 'backend-ts': 'packages/backend-ts', 'backend-wasm': 'packages/backend-wasm', 'backend-tfjs': 'packages/backend-tfjs', 'backend-onnxruntime': 'packages/backend-onnxruntime', onnx: 'packages/onnx', auto: 'packages/auto' };

/**
 * What a browser bundle must not contain: imports of Node built-ins, Node-only packages, and our own Node
 * glue (backend-ts's worker host, marked by the Node error code it handles). tfjs's Emscripten loader keeps
 * a `try { require("worker_threads") }` for Node, which is inert in a browser and not ours, so a bare
 * mention of worker_threads is not flagged; an import of it is. Only quoted specifiers count, so a comment
 * that names onnxruntime-node (Rollup keeps comments) is not flagged.
 */
const NODE_ONLY = [/["'`]onnxruntime-node(?:\/[^"'`]*)?["'`]/, /(?:\bfrom\s*|\bimport\s*\(\s*)["'`](?:node:)?worker_threads["'`]/, /["'`]node:[a-z_]+["'`]/, /\bcreateRequire\b/, /ERR_WORKER_INVALID_EXEC_ARGV/];

function makeProject() {
  const dir = mkdtempSync(join(realpathSync(tmpdir()), 'mha-bundle-'));
  cpSync(join(here, 'app'), join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '@mha'), { recursive: true });
  for (const [name, path] of Object.entries(PACKAGES)) {
    if (!existsSync(join(repo, path, 'dist'))) setup(`${path}/dist is missing: build first (pnpm turbo run build)`);
    symlinkSync(join(repo, path), join(dir, 'node_modules', '@mha', name), 'dir');
  }
  return dir;
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true }).map((f) => join(dir, String(f))).filter((f) => statSync(f).isFile());
}

/** Node-only code found in a browser bundle, as "file: pattern" lines. */
function nodeOnlyCode(outDir) {
  const found = [];
  for (const file of filesUnder(outDir)) {
    if (extname(file) === '.node') found.push(`${relative(outDir, file)}: a native add-on`);
    if (!/\.(m?js)$/.test(file)) continue;
    const text = readFileSync(file, 'utf8');
    for (const re of NODE_ONLY) if (re.test(text)) found.push(`${relative(outDir, file)}: ${re.source}`);
  }
  return found;
}

const silent = { logLevel: 'silent' };

/** Type-checks app/types.ts with the workspace's TypeScript: strict, skipLibCheck off, ES2022 lib only. */
function typecheckApp(dir) {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const config = { compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', lib: ['ES2022'], types: [], module: 'NodeNext', moduleResolution: 'NodeNext' }, files: ['src/types.ts'] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  const r = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status === 0) return [];
  const errors = `${r.stdout}${r.stderr}`.trim().split('\n');
  return [`${errors.length} TypeScript error(s), e.g. ${errors.slice(0, 3).join(' | ')}`];
}

/** Each bundle: how to build it and how to run it. */
const BUNDLES = [
  {
    name: 'TypeScript: every entry point, skipLibCheck off, no DOM or Node types',
    target: 'none',
    build: async (dir) => {
      const problems = typecheckApp(dir);
      if (problems.length > 0) throw new Error(problems.join('; '));
    },
  },
  {
    name: 'esbuild, browser',
    target: 'browser',
    // The documented esbuild setup: the worker entry built next to the app (esbuild leaves
    // `new URL('./worker-web.js', import.meta.url)` alone, so it resolves beside the bundle). Two
    // packages cannot both own `worker-web.js`, so backend-wasm's worker gets its own name and the app
    // passes it as `workerUrl` (the `define` below; a Vite build leaves it undefined).
    build: (dir, out) =>
      esbuild.build({
        absWorkingDir: dir,
        entryPoints: { app: 'src/browser.js', 'worker-web': '@mha/backend-ts/worker-web', 'wasm-worker-web': '@mha/backend-wasm/worker-web' },
        define: { 'globalThis.MHA_WASM_WORKER_URL': '"./wasm-worker-web.js"' },
        bundle: true,
        format: 'esm',
        platform: 'browser',
        outdir: out,
        ...silent,
      }).then(() => {
        cpSync(join(dir, 'src', 'index.html'), join(out, 'index.html'));
        rewriteHtml(join(out, 'index.html'));
      }),
  },
  {
    name: 'esbuild, browser, @mha/backend-tfjs alone, no flags',
    target: 'none',
    build: (dir, out) => esbuild.build({ absWorkingDir: dir, entryPoints: ['src/tfjs-only.js'], bundle: true, format: 'esm', platform: 'browser', outdir: out, ...silent }),
  },
  {
    name: 'esbuild, node',
    target: 'node',
    expectPicked: 'ort-attention-op',
    build: (dir, out) => esbuild.build({ absWorkingDir: dir, entryPoints: { app: 'src/node.js' }, bundle: true, format: 'esm', platform: 'node', outdir: out, outExtension: { '.js': '.mjs' }, ...silent }),
  },
  {
    name: 'vite, browser',
    target: 'browser',
    build: (dir, out) => vite.build({ root: join(dir, 'src'), configFile: false, logLevel: 'silent', build: { outDir: out, emptyOutDir: true } }),
  },
  {
    name: 'vite, node (ssr, everything bundled)',
    target: 'node',
    expectPicked: 'ort-attention-op',
    build: (dir, out) =>
      vite.build({
        root: join(dir, 'src'),
        configFile: false,
        logLevel: 'silent',
        ssr: { noExternal: true, target: 'node' },
        build: { ssr: join(dir, 'src', 'node.js'), outDir: out, emptyOutDir: true, rollupOptions: { output: { entryFileNames: 'app.mjs' } } },
      }),
  },
  {
    name: 'webpack, browser',
    target: 'browser',
    // No configuration beyond entry and output: webpack 5 finds both packages' `new Worker(new URL(...,
    // import.meta.url))` and emits the workers itself.
    build: (dir, out) =>
      webpackBuild({ ...WEBPACK_MODE, context: dir, entry: { app: './src/browser.js' }, target: 'web', output: { path: out, filename: '[name].js' } }).then(() => {
        cpSync(join(dir, 'src', 'index.html'), join(out, 'index.html'));
        rewriteHtml(join(out, 'index.html'));
      }),
  },
  {
    name: 'webpack, node',
    target: 'node',
    expectPicked: 'ort-attention-op',
    build: (dir, out) =>
      webpackBuild({
        ...WEBPACK_MODE,
        context: dir,
        entry: { app: './src/node.js' },
        target: 'node',
        experiments: { outputModule: true },
        output: { path: out, filename: '[name].mjs', module: true, chunkFormat: 'module' },
        // onnxruntime-node's native add-on cannot be bundled: it stays an import (from the project's node_modules).
        externals: { 'onnxruntime-node': 'module onnxruntime-node' },
      }),
  },
  {
    name: 'rollup, browser',
    target: 'browser',
    // As with esbuild: Rollup leaves `new URL('./worker-web.js', import.meta.url)` alone, so the worker
    // scripts are entry points of their own beside the app (backend-wasm's under its own name, as workerUrl).
    build: async (dir, out) => {
      await rollupBuild(dir, out, {
        browser: true,
        input: { app: join(dir, 'src', 'browser-rollup.js'), 'worker-web': '@mha/backend-ts/worker-web', 'wasm-worker-web': '@mha/backend-wasm/worker-web' },
      });
      cpSync(join(dir, 'src', 'index.html'), join(out, 'index.html'));
      rewriteHtml(join(out, 'index.html'));
    },
  },
  {
    name: 'rollup, node',
    target: 'node',
    expectPicked: 'ort-attention-op',
    build: (dir, out) => rollupBuild(dir, out, { browser: false, input: { app: join(dir, 'src', 'node.js') }, output: { entryFileNames: '[name].mjs' } }),
  },
];

/**
 * webpack's production mode (tree shaking, `sideEffects`, the `browser` condition on web targets) without
 * minifying: terser over TensorFlow.js would add about 40 s to the check and test nothing of ours.
 */
const WEBPACK_MODE = { mode: 'production', optimization: { minimize: false }, performance: { hints: false } };

/** A webpack 5 build through its Node API; rejects with the compilation's errors. */
function webpackBuild(config) {
  return new Promise((resolveBuild, reject) =>
    webpack(config, (err, stats) => {
      if (err) reject(err);
      else if (stats.hasErrors()) reject(new Error(stats.toJson({ all: false, errors: true }).errors.map((e) => `${e.message}${e.moduleName ? ` (${e.moduleName})` : ''}`).join('; ')));
      else resolveBuild();
    }),
  );
}

/** A Rollup build: `input` resolved from the project's node_modules, CommonJS dependencies converted. */
async function rollupBuild(dir, out, { input, browser, output = {} }) {
  const warnings = [];
  const bundle = await rollup({
    input,
    plugins: [nodeResolve({ rootDir: dir, browser, exportConditions: browser ? ['browser'] : ['node'], preferBuiltins: !browser }), commonjs()],
    // Node's built-ins stay imports in the Node bundle; onnxruntime-node loads a native add-on beside its
    // own files, so it stays a package import there (resolved from the project's node_modules at run time).
    external: browser ? [] : (id) => /^node:/.test(id) || builtinModules.includes(id) || /^onnxruntime-node(\/|$)/.test(id),
    onwarn: (w) => warnings.push(w),
  });
  try {
    await bundle.write({ dir: out, format: 'es', entryFileNames: '[name].js', ...output });
  } finally {
    await bundle.close();
  }
  return warnings;
}

function rewriteHtml(file) {
  writeFileSync(file, readFileSync(file, 'utf8').replace('./browser.js', './app.js'));
}

/** Serves `dir` on 127.0.0.1 with the headers that make a page cross-origin isolated. */
function serve(dir) {
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = resolve(dir, `.${path === '/' ? '/index.html' : decodeURIComponent(path)}`);
    const ok = file.startsWith(dir + sep) && existsSync(file) && statSync(file).isFile();
    res.writeHead(ok ? 200 : 404, {
      'Content-Type': types[extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    });
    res.end(ok ? readFileSync(file) : `not found: ${path}`);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((c) => server.close(c)) })));
}

async function runInBrowser(context, out, label) {
  const server = await serve(out);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => console.log(`  [${label}] ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  // The .wasm binaries and missing-worker.js are left unserved on purpose (the app checks that tfjs-wasm's
  // error names wasmPaths and that wasm-threads' names the worker URL).
  page.on('response', (r) => r.status() >= 400 && !/\.wasm$|\/missing-worker\.js$|favicon/.test(r.url()) && errors.push(`HTTP ${r.status()} ${r.url()}`));
  try {
    await page.goto(`${server.origin}/`);
    // A hang guard only (15 minutes): a loaded machine can be slow without anything being wrong.
    await page.waitForFunction(() => '__mhaResult' in window, null, { timeout: 15 * 60_000, polling: 250 });
    const v = await page.evaluate(() => window.__mhaResult);
    return [...v.problems, ...errors];
  } catch (e) {
    return [`no verdict from the page: ${e.message}`, ...errors];
  } finally {
    await page.close();
    await server.close();
  }
}

function runInNode(dir, out, expectPicked, label) {
  const entry = filesUnder(out).find((f) => f.endsWith('app.mjs'));
  if (!entry) return ['no app.mjs in the output'];
  // Run from the project folder: native add-ons (onnxruntime) resolve from its node_modules at run time.
  const r = spawnSync(process.execPath, [entry], { cwd: dir, encoding: 'utf8', env: { ...process.env, EXPECT_PICKED: expectPicked }, timeout: 10 * 60_000 });
  for (const line of `${r.stdout}${r.stderr}`.trim().split('\n')) console.log(`  [${label}] ${line}`);
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()).problems;
  } catch {
    return [`exit ${r.status}${r.signal ? ` (${r.signal})` : ''}, no verdict`];
  }
}

async function main() {
  const dir = makeProject();
  const outcomes = [];
  let context;
  try {
    for (const b of BUNDLES) {
      const out = join(dir, 'out', b.name.replace(/[^a-z0-9]+/gi, '-'));
      const started = Date.now();
      const problems = [];
      try {
        await b.build(dir, out);
      } catch (e) {
        problems.push(`build failed: ${(e.errors?.map((x) => `${x.text}${x.location ? ` (${x.location.file}:${x.location.line})` : ''}`).join('; ') || e.message).split('\n').slice(0, 6).join(' ')}`);
      }
      const built = Date.now();
      if (problems.length === 0 && b.target !== 'node' && existsSync(out)) problems.push(...nodeOnlyCode(out).map((f) => `Node-only code in the browser bundle: ${f}`));
      if (problems.length === 0 && b.target === 'node') problems.push(...runInNode(dir, out, b.expectPicked, b.name));
      if (problems.length === 0 && b.target === 'browser') {
        if (!existsSync(CHROMIUM)) setup(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
        context ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'] });
        problems.push(...(await runInBrowser(context, out, b.name)));
      }
      outcomes.push({ name: b.name, problems, seconds: (Date.now() - started) / 1000, build: (built - started) / 1000 });
    }
  } finally {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nBundle check');
  for (const o of outcomes) {
    console.log(`  ${o.problems.length === 0 ? 'PASS' : 'FAIL'}  ${o.name} (${o.seconds.toFixed(1)} s, build ${o.build.toFixed(1)} s)`);
    for (const p of o.problems) console.log(`        - ${p}`);
  }
  const failed = outcomes.filter((o) => o.problems.length > 0).length;
  console.log(`bundle check: ${outcomes.length - failed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
