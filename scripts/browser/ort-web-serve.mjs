// What the ort-web page (page/ort-web.mjs) needs served, kept out of server.mjs: @mha/backend-onnxruntime's
// and @mha/onnx's dist/, onnxruntime-web's dist/ (its WebAssembly-only ES module and the .wasm it loads,
// from node_modules: nothing is fetched from the network), and onnx-proto, a CommonJS module (on
// protobufjs/minimal) that a browser cannot import, behind an ES-module shim built from both files as
// they are on disk.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** URL prefix -> directory, and the import map entries, for the ort-web page. */
export function ortWebServing(repo) {
  const fromOrt = createRequire(join(repo, 'packages', 'backend-onnxruntime', 'package.json'));
  const ortWebDist = dirname(fromOrt.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  const fromOnnx = createRequire(join(repo, 'packages', 'onnx', 'package.json'));
  const onnxProtoFile = fromOnnx.resolve('onnx-proto');
  const protobufFile = createRequire(onnxProtoFile).resolve('protobufjs/dist/minimal/protobuf.js');
  const ortPkg = JSON.parse(readFileSync(join(repo, 'packages', 'backend-onnxruntime', 'package.json'), 'utf8'));
  // The package's own `#ort-web` import at its `browser` condition, scoped to its files as Node's resolution is.
  const ortWebImport = ortPkg.imports['#ort-web'].browser.replace(/^\.\/dist\//, '/backend-onnxruntime/');
  let shim;
  return {
    mounts: {
      '/backend-onnxruntime/': join(repo, 'packages', 'backend-onnxruntime', 'dist'),
      '/onnx/': join(repo, 'packages', 'onnx', 'dist'),
      '/ort-web/': ortWebDist,
    },
    imports: {
      '@mha/onnx': '/onnx/index.js',
      '@mha/backend-onnxruntime/web': '/backend-onnxruntime/web.js',
      'onnxruntime-web/wasm': '/ort-web/ort.wasm.bundle.min.mjs',
      'onnx-proto': '/onnx-proto/shim.js',
    },
    scopes: { '/backend-onnxruntime/': { '#ort-web': ortWebImport } },
    /** The onnx-proto shim's source, for `/onnx-proto/shim.js`. */
    onnxProtoShim() {
      shim ??= `// onnx-proto (CommonJS) over protobufjs's minimal UMD build, as an ES module with a default export.
const protobuf = (() => { const module = { exports: {} }; (function (module, exports, define) {\n${readFileSync(protobufFile, 'utf8')}\n})(module, module.exports, undefined); return module.exports; })();
const require = (id) => { if (id === 'protobufjs/minimal') return protobuf; throw new Error('onnx-proto shim: cannot require ' + id); };
const module = { exports: {} };
(function (require, module, exports) {\n${readFileSync(onnxProtoFile, 'utf8')}\n})(require, module, module.exports);
export default module.exports;
`;
      return shim;
    },
  };
}
