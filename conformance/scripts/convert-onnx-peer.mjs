// Build step: converts the ONNX project's Attention test directories (fixtures/onnx-attention, read with
// @mha/onnx, a devDependency) into dist/fixtures/onnx-peer.json, the form the package ships and reads with
// @mha/core alone. Each case keeps its provenance: the test directory and the SHA-256 of every file it was
// read from; the file keeps the origin (repository, commit, licence) from fixtures/onnx-attention/README.md.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readOnnxTestCases } from '../dist/onnx-peer-convert.js';
import { ONNX_PEER_FILE, ONNX_PEER_FORMAT, onnxPeerCaseJSON } from '../dist/onnx-peer.js';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, '..', '..', 'fixtures', 'onnx-attention');
const out = join(here, '..', 'dist', 'fixtures', ONNX_PEER_FILE);

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

const readme = readFileSync(join(src, 'README.md'), 'utf8');
const commit = /commit\s+`([0-9a-f]{40})`/.exec(readme)?.[1];
if (!commit) throw new Error(`${join(src, 'README.md')} names no onnx/onnx commit`);
const cases = readOnnxTestCases(src).map((c) => {
  const dir = join(src, c.name);
  const sha256 = Object.fromEntries(filesUnder(dir).map((f) => [f.split('\\').join('/'), createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
  return onnxPeerCaseJSON(c, { dir: c.name, sha256 });
});
const file = {
  format: ONNX_PEER_FORMAT,
  provenance: {
    origin: 'onnx/onnx repository, onnx/backend/test/data/node/test_attention_* (the ONNX Attention operator backend tests)',
    commit,
    licence: 'Apache-2.0 (ONNX); tensors converted unchanged to little-endian float32 (float16 widened), 3D layouts to 4D',
    convertedFrom: relative(join(here, '..', '..'), src).split('\\').join('/'),
  },
  cases,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(file)}\n`);
console.log(`${relative(process.cwd(), out)}: ${cases.length} ONNX peer cases, ${(statSync(out).size / 1024).toFixed(0)} KiB`);
