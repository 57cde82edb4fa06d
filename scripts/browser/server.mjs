// Static HTTP server for the browser check: serves the built dist/ folders of @mha/core, the backends and
// @mha/conformance (whose dist/fixtures holds every built-in input of the suite), fast-check (and its
// pure-rand dependency) as ES modules, and the pages in ./page, each page with an import map so bare
// specifiers resolve in the browser exactly as they do in Node.
import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ortWebServing } from './ort-web-serve.mjs';
import { seedrandomScript, shimModule, tfjsPackages } from './tfjs-shims.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

// fast-check is a dependency of @mha/conformance, so resolve it from there (pnpm keeps it out of the root).
const requireFromConformance = createRequire(join(repo, 'conformance', 'package.json'));
const fastCheckDir = dirname(requireFromConformance.resolve('fast-check/package.json'));
const pureRandDir = dirname(createRequire(join(fastCheckDir, 'package.json')).resolve('pure-rand/package.json'));

const tfjs = tfjsPackages(repo);
const tfjsShimUrl = (name) => `/tfjs/shim/${encodeURIComponent(name)}`;
const ortWeb = ortWebServing(repo);

/** URL prefix -> directory on disk. Only these trees are served. */
const MOUNTS = {
  '/core/': join(repo, 'packages', 'core', 'dist'),
  '/backend-ts/': join(repo, 'packages', 'backend-ts', 'dist'),
  '/backend-wasm/': join(repo, 'packages', 'backend-wasm', 'dist'),
  '/backend-webgpu/': join(repo, 'packages', 'backend-webgpu', 'dist'),
  '/backend-tfjs/': join(repo, 'packages', 'backend-tfjs', 'dist'),
  '/bench/': join(repo, 'packages', 'bench', 'dist'),
  '/tfjs/wasm/': join(tfjs.packages['@tensorflow/tfjs-backend-wasm'].dir, 'dist'),
  '/conformance/': join(repo, 'conformance', 'dist'),
  '/fast-check/': fastCheckDir,
  '/pure-rand/': pureRandDir,
  '/page/': join(here, 'page'),
  ...ortWeb.mounts,
};

const MIME = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** The import map every page gets. pure-rand only has subpath exports, so each is mapped to its ESM file. */
export function importMap() {
  const fastCheckPkg = JSON.parse(readFileSync(join(fastCheckDir, 'package.json'), 'utf8'));
  const pureRandPkg = JSON.parse(readFileSync(join(pureRandDir, 'package.json'), 'utf8'));
  const imports = {
    '@mha/core': '/core/index.js',
    '@mha/backend-ts': '/backend-ts/index.js',
    '@mha/backend-wasm': '/backend-wasm/index.js',
    '@mha/backend-webgpu': '/backend-webgpu/index.js',
    '@mha/backend-tfjs': '/backend-tfjs/index.js',
    ...Object.fromEntries(Object.keys(tfjs.packages).map((name) => [name, tfjsShimUrl(name)])),
    ...ortWeb.imports,
    'fast-check': `/fast-check/${fastCheckPkg.exports['.'].import.default.replace(/^\.\//, '')}`,
  };
  for (const [subpath, target] of Object.entries(pureRandPkg.exports)) {
    if (typeof target === 'object' && typeof target.import === 'string') {
      imports[`pure-rand/${subpath.replace(/^\.\//, '')}`] = `/pure-rand/${target.import.replace(/^\.\//, '')}`;
    }
  }
  // @mha/backend-tfjs's package.json `imports` (e.g. "#wasm-dir"), each at its `browser` condition, scoped
  // to that package's files as Node's resolution is.
  const tfjsPkg = JSON.parse(readFileSync(join(repo, 'packages', 'backend-tfjs', 'package.json'), 'utf8'));
  const tfjsImports = {};
  for (const [key, target] of Object.entries(tfjsPkg.imports ?? {})) {
    const browser = typeof target === 'string' ? target : target.browser ?? target.default;
    tfjsImports[key] = `/backend-tfjs/${browser.replace(/^\.\/dist\//, '')}`;
  }
  const scopes = { '/backend-tfjs/': tfjsImports, ...ortWeb.scopes };
  return { imports, scopes };
}

function pageHtml(script) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>mha browser check</title>
<script type="importmap">${JSON.stringify(importMap())}</script>
<script type="module" src="/page/${script}"></script>
</head><body></body></html>
`;
}

/** Maps a URL path to a file under one of the mounts, refusing anything that escapes it. */
function fileFor(pathname) {
  for (const [prefix, dir] of Object.entries(MOUNTS)) {
    if (!pathname.startsWith(prefix)) continue;
    const file = resolve(dir, decodeURIComponent(pathname.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir + sep)) return undefined;
    try {
      return statSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Starts a server on 127.0.0.1 at a free port. With `isolated`, every response carries the COOP/COEP
 * headers that make a page cross-origin isolated (which is what exposes SharedArrayBuffer). Files are
 * served as they are on disk: bare specifiers resolve through the page's import map, as in Node.
 * Resolves to `{ origin, close() }`.
 */
export function startServer({ isolated }) {
  const tfjsCache = {};
  const headers = isolated
    ? {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
      }
    : {};
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const send = (status, type, body) => {
      res.writeHead(status, { ...headers, 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (pathname === '/suite.html') return send(200, MIME['.html'], pageHtml('suite.mjs'));
    if (pathname === '/threads.html') return send(200, MIME['.html'], pageHtml('threads.mjs'));
    if (pathname === '/wasm.html') return send(200, MIME['.html'], pageHtml('wasm.mjs'));
    if (pathname === '/webgpu.html') return send(200, MIME['.html'], pageHtml('webgpu.mjs'));
    if (pathname === '/webgpu-absent.html') return send(200, MIME['.html'], pageHtml('webgpu-absent.mjs'));
    if (pathname === '/bench.html') return send(200, MIME['.html'], pageHtml('bench.mjs'));
    if (pathname === '/tfjs.html') return send(200, MIME['.html'], pageHtml('tfjs.mjs'));
    if (pathname === '/ort-web.html') return send(200, MIME['.html'], pageHtml('ort-web.mjs'));
    if (pathname === '/onnx-proto/shim.js') return send(200, MIME['.js'], ortWeb.onnxProtoShim());
    if (pathname.startsWith('/tfjs/shim/') || pathname.startsWith('/tfjs/umd/')) {
      const name = decodeURIComponent(pathname.slice(pathname.indexOf('/', '/tfjs/'.length) + 1));
      const pkg = tfjs.packages[name];
      if (!pkg) return send(404, 'text/plain', `not found: ${pathname}`);
      if (pathname.startsWith('/tfjs/umd/')) return send(200, MIME['.js'], readFileSync(join(pkg.dir, pkg.umd)));
      tfjsCache[name] ??= shimModule(name, tfjs.packages, tfjsShimUrl);
      return send(200, MIME['.js'], tfjsCache[name]);
    }
    if (pathname === '/tfjs/seedrandom.js') return send(200, MIME['.js'], (tfjsCache.seedrandom ??= seedrandomScript(tfjs.seedrandom)));
    if (pathname === '/favicon.ico') return send(204, 'text/plain', '');
    const file = fileFor(pathname);
    if (!file) return send(404, 'text/plain', `not found: ${pathname}`);
    send(200, MIME[extname(file)] ?? 'application/octet-stream', readFileSync(file));
  });
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolveStart({
        origin: `http://127.0.0.1:${port}`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
