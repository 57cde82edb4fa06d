// Serves TensorFlow.js to the browser check without a bundler. tfjs's packages ship ES modules that
// import CommonJS dependencies (seedrandom), so the pages use tfjs's own UMD builds (dist/*.es2017.js,
// which attach to a global `tf`) behind small ES-module shims that re-export each package's names from
// that global. `@tensorflow/tfjs-backend-cpu`'s UMD build also expects a global `seedrandom`, which is
// CommonJS: `seedrandomScript()` wraps its files in a minimal `require` so it runs as a plain script.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Package -> its UMD build, resolved from @mha/backend-tfjs (where pnpm links them). */
export function tfjsPackages(repo) {
  const fromTfjs = createRequire(join(repo, 'packages', 'backend-tfjs', 'package.json'));
  const dir = (name) => dirname(fromTfjs.resolve(`${name}/package.json`));
  const core = dir('@tensorflow/tfjs-core');
  const cpu = dirname(createRequire(join(core, '..', 'tfjs-backend-cpu', 'package.json')).resolve('@tensorflow/tfjs-backend-cpu/package.json'));
  const packages = {
    '@tensorflow/tfjs-core': { dir: core, umd: 'dist/tf-core.es2017.js' },
    '@tensorflow/tfjs-backend-cpu': { dir: cpu, umd: 'dist/tf-backend-cpu.es2017.js' },
    '@tensorflow/tfjs-backend-wasm': { dir: dir('@tensorflow/tfjs-backend-wasm'), umd: 'dist/tf-backend-wasm.es2017.js', global: 'wasm' },
    '@tensorflow/tfjs-backend-webgl': { dir: dir('@tensorflow/tfjs-backend-webgl'), umd: 'dist/tf-backend-webgl.es2017.js' },
    '@tensorflow/tfjs-backend-webgpu': { dir: dir('@tensorflow/tfjs-backend-webgpu'), umd: 'dist/tf-backend-webgpu.es2017.js' },
  };
  const seedrandom = dirname(createRequire(join(cpu, 'package.json')).resolve('seedrandom/package.json'));
  return { packages, seedrandom };
}

const RESERVED = new Set(['default', 'delete', 'in', 'new', 'class', 'function', 'var', 'let', 'const', 'import', 'export', 'return', 'this', 'typeof', 'void', 'with', 'yield', 'await', 'enum', 'case', 'catch', 'do', 'else', 'finally', 'for', 'if', 'instanceof', 'switch', 'throw', 'try', 'while', 'break', 'continue', 'debugger', 'extends', 'super', 'null', 'true', 'false']);

/** The names a UMD build assigns to `exports` (`exports.X = ...` or `Object.defineProperty(exports, 'X', ...)`). */
export function umdExportNames(source) {
  const names = new Set();
  for (const m of source.matchAll(/\bexports\.([A-Za-z_$][\w$]*)\s*=/g)) names.add(m[1]);
  for (const m of source.matchAll(/Object\.defineProperty\(exports,\s*'([A-Za-z_$][\w$]*)'/g)) names.add(m[1]);
  names.delete('__esModule');
  return [...names].filter((n) => !RESERVED.has(n)).sort();
}

/**
 * The ES-module shim of one package: runs its dependencies' shims, then its UMD build (as a classic
 * script through a module import: `this` is undefined, so the UMD falls back to `globalThis`), then
 * re-exports its names from the global.
 */
export function shimModule(name, packages, urlOf) {
  const pkg = packages[name];
  const source = readFileSync(join(pkg.dir, pkg.umd), 'utf8');
  const names = umdExportNames(source);
  const deps = name === '@tensorflow/tfjs-core' ? [] : ['@tensorflow/tfjs-core'];
  const lines = deps.map((d) => `import '${urlOf(d)}';`);
  if (name === '@tensorflow/tfjs-backend-cpu') lines.push(`import '/tfjs/seedrandom.js';`);
  lines.push(`import '/tfjs/umd/${encodeURIComponent(name)}';`);
  const from = pkg.global ? `globalThis.tf.${pkg.global}` : 'globalThis.tf';
  lines.push(`const g = ${from};`);
  for (const n of names) lines.push(`export const ${n} = g.${n};`);
  return `${lines.join('\n')}\n`;
}

/** seedrandom (CommonJS) as a script that sets `globalThis.seedrandom`. */
export function seedrandomScript(dir) {
  const files = ['index.js', 'seedrandom.js', ...['alea', 'xor128', 'xorwow', 'xorshift7', 'xor4096', 'tychei'].map((f) => `lib/${f}.js`)];
  const body = files
    .map((f) => `  ${JSON.stringify(f)}: function (module, exports, require, define) {\n${readFileSync(join(dir, f), 'utf8')}\n  },`)
    .join('\n');
  return `// seedrandom ${JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version}, CommonJS files wrapped for the browser check.
(() => {
const files = {
${body}
};
const cache = {};
function load(file) {
  if (cache[file]) return cache[file].exports;
  const module = { exports: {} };
  cache[file] = module;
  const require = (spec) => {
    const target = spec.replace(/^\\.\\//, '') + (spec.endsWith('.js') ? '' : '.js');
    if (!(target in files)) throw new Error('seedrandom shim: cannot require ' + spec);
    return load(target);
  };
  files[file].call(globalThis, module, module.exports, require, undefined);
  return module.exports;
}
globalThis.seedrandom = load('index.js');
})();
`;
}
