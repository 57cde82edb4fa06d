// The suite's built-in inputs over HTTP, for browsers: the same files the Node loaders read from disk
// (fixture-files.ts, module-fixture-files.ts, onnx-peer.ts), named by dist/fixtures/suite-files.json,
// which the build writes with the same selection rules. Browser-safe: fetch only, no Node built-in.
import { MhaError, MhaErrorCode } from '@mha/core';
import { parseFixture, type Fixture } from './fixture.js';
import { parseCheckpointFixture, parseModuleFixture, type ModuleFeatureFixture } from './module-fixtures.js';
import { ONNX_PEER_FILE, parseOnnxPeerCases, type OnnxPeerCase } from './onnx-peer-parse.js';

/** The listing the build writes beside the fixtures (dist/fixtures/suite-files.json). */
export const SUITE_FILES = 'suite-files.json';
/** Its format tag. */
export const SUITE_FILES_FORMAT = 'mha-suite-files/1';

/**
 * suite-files.json: file names relative to its own directory, each list sorted as the Node loaders
 * sort them (golden: `*.json` but index.json; module-features: the same; checkpoints: `*.json`).
 */
export interface SuiteFilesJSON {
  readonly format: typeof SUITE_FILES_FORMAT;
  readonly golden: readonly string[];
  readonly moduleFeatures: readonly string[];
  readonly checkpoints: readonly string[];
  readonly onnxPeer: string;
}

/** What {@link runSuite} needs for the whole built-in suite: the `fixtures`, `onnxPeer` and `moduleFixtures` options. */
export interface SuiteInputs {
  readonly fixtures: Fixture[];
  readonly onnxPeer: OnnxPeerCase[];
  readonly moduleFixtures: ModuleFeatureFixture[];
}

/** A plain file name: the listing cannot send the loader outside its directory. */
const FILE_NAME = /^[a-z0-9][a-z0-9._-]*\.(?:json|safetensors)$/;

function names(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((n) => typeof n !== 'string' || !FILE_NAME.test(n))) {
    throw new MhaError(MhaErrorCode.InvalidType, `${SUITE_FILES}.${field}`, Array.isArray(v) ? 'array' : typeof v, 'expected plain file names');
  }
  return v as string[];
}

/** Checks a parsed suite-files.json. */
export function parseSuiteFiles(json: unknown): SuiteFilesJSON {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MhaError(MhaErrorCode.InvalidType, SUITE_FILES, typeof json, 'expected a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== SUITE_FILES_FORMAT) throw new MhaError(MhaErrorCode.InvalidType, `${SUITE_FILES}.format`, o.format, `expected '${SUITE_FILES_FORMAT}'`);
  if (o.onnxPeer !== ONNX_PEER_FILE) throw new MhaError(MhaErrorCode.InvalidType, `${SUITE_FILES}.onnxPeer`, o.onnxPeer, `expected '${ONNX_PEER_FILE}'`);
  return { format: SUITE_FILES_FORMAT, golden: names(o.golden, 'golden'), moduleFeatures: names(o.moduleFeatures, 'moduleFeatures'), checkpoints: names(o.checkpoints, 'checkpoints'), onnxPeer: ONNX_PEER_FILE };
}

/**
 * Fetches and parses every built-in input of the suite from `base`, a URL (absolute, or relative to the
 * page) of a directory served from `@mha/conformance`'s `dist/fixtures/` (ending in `/`), so a browser
 * runs the same case list as the Node CLI: golden fixtures, module-feature and checkpoint fixtures, and
 * the ONNX peer cases. A failed request or a malformed file raises an MhaError naming the file.
 *
 * @example
 * const inputs = await fetchSuiteInputs('/node_modules/@mha/conformance/dist/fixtures/');
 * const report = await runSuite(backend, inputs);
 */
export async function fetchSuiteInputs(base: string, fetchFn: (url: string) => Promise<Response> = (url) => fetch(url)): Promise<SuiteInputs> {
  const dir = base.endsWith('/') ? base : `${base}/`;
  const get = async (path: string): Promise<Response> => {
    const response = await fetchFn(`${dir}${path}`);
    if (!response.ok) throw new MhaError(MhaErrorCode.InvalidType, `${dir}${path}`, response.status, 'HTTP request failed');
    return response;
  };
  const json = async (path: string): Promise<unknown> => {
    const text = await (await get(path)).text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new MhaError(MhaErrorCode.InvalidType, `${dir}${path}`, undefined, 'not valid JSON');
    }
  };
  const files = parseSuiteFiles(await json(SUITE_FILES));
  const fixtures = await Promise.all(files.golden.map(async (f) => parseFixture(await json(`golden/${f}`), `golden/${f}`)));
  const modules = await Promise.all(files.moduleFeatures.map(async (f) => parseModuleFixture(await json(`module-features/${f}`), `module-features/${f}`)));
  const checkpoints = await Promise.all(
    files.checkpoints.map(async (f) => {
      const where = `checkpoints/${f}`;
      const meta = await json(where);
      const file = String((meta as { file?: unknown } | null)?.file);
      if (!/^[a-z0-9.-]+\.safetensors$/.test(file)) throw new MhaError(MhaErrorCode.InvalidType, `${where}.file`, file, 'expected a .safetensors file name beside it');
      return parseCheckpointFixture(meta, new Uint8Array(await (await get(`checkpoints/${file}`)).arrayBuffer()), where);
    }),
  );
  const onnxPeer = parseOnnxPeerCases(await json(files.onnxPeer));
  return { fixtures, onnxPeer, moduleFixtures: [...modules, ...checkpoints] };
}
