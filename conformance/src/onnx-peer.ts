// The ONNX peer cases as this package ships them: dist/fixtures/onnx-peer.json, converted at build time
// from the ONNX project's Attention test directories (scripts/convert-onnx-peer.mjs, src/onnx-peer-convert.ts)
// with the provenance of every file kept. Reading them needs @mha/core only: no protobufjs, no onnx-proto.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MhaError, MhaErrorCode } from '@mha/core';
import { readJsonFile } from './fixture-files.js';
import { ONNX_PEER_FILE, parseOnnxPeerCases, type OnnxPeerCase } from './onnx-peer-parse.js';

export { ONNX_PEER_FILE, ONNX_PEER_FORMAT, parseOnnxPeerCases, onnxPeerCaseJSON, type OnnxPeerCase, type OnnxPeerCaseJSON, type OnnxPeerFileJSON } from './onnx-peer-parse.js';

/** The directory holding the peer cases shipped with this package (dist/fixtures), also from src in the repo. */
export function builtinOnnxPeerDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, 'fixtures'), join(here, '..', 'dist', 'fixtures')].find((d) => existsSync(join(d, ONNX_PEER_FILE)));
  if (!found) throw new MhaError(MhaErrorCode.InvalidType, 'fixtures', ONNX_PEER_FILE, 'peer cases not found (was the package built?)');
  return found;
}

/** Reads `dir`/onnx-peer.json (a regular file; FIFOs and devices refused) and decodes its cases. */
export function loadOnnxPeerCases(dir: string): OnnxPeerCase[] {
  return parseOnnxPeerCases(readJsonFile(join(dir, ONNX_PEER_FILE)));
}
