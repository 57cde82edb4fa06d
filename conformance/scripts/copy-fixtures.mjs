// Ships the repo's golden fixtures inside the package, so an installed @mha/conformance (outside this
// repo) still has its built-in cases. The ONNX peer cases are converted by convert-onnx-peer.mjs.
// suite-files.json lists the files the Node loaders read (same selection and order), so a browser can
// fetch the same set (src/fetch-fixtures.ts).
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
rmSync(join(here, '..', 'dist', 'fixtures', 'onnx-attention'), { recursive: true, force: true });
for (const name of ['golden', 'module-features', 'checkpoints']) {
  const src = join(here, '..', '..', 'fixtures', name);
  const dst = join(here, '..', 'dist', 'fixtures', name);
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  cpSync(src, dst, { recursive: true });
}
const jsonFiles = (name, except = []) =>
  readdirSync(join(here, '..', 'dist', 'fixtures', name))
    .filter((f) => f.endsWith('.json') && !except.includes(f))
    .sort();
const suiteFiles = {
  format: 'mha-suite-files/1',
  golden: jsonFiles('golden', ['index.json']),
  moduleFeatures: jsonFiles('module-features', ['index.json']),
  checkpoints: jsonFiles('checkpoints'),
  onnxPeer: 'onnx-peer.json',
};
writeFileSync(join(here, '..', 'dist', 'fixtures', 'suite-files.json'), `${JSON.stringify(suiteFiles, null, 1)}\n`);
