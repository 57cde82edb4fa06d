import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MhaError } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { fetchSuiteInputs, parseSuiteFiles, SUITE_FILES } from './fetch-fixtures.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { loadModuleFixtures } from './module-fixture-files.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases } from './onnx-peer.js';
import { buildSuite } from './suite.js';

/** A fetch over the package's dist/fixtures, as a static server would answer it. */
const dir = builtinOnnxPeerDir();
async function fromDisk(url: string): Promise<Response> {
  try {
    return new Response(readFileSync(join(dir, url.replace(/^\/fx\//, ''))));
  } catch {
    return new Response('not found', { status: 404 });
  }
}

describe('fetchSuiteInputs (the browser loader)', () => {
  it('gives the same case list, in the same order, as the Node loaders', async () => {
    const inputs = await fetchSuiteInputs('/fx', fromDisk);
    const node = { fixtures: loadFixtureDir(builtinFixturesDir()), onnxPeer: loadOnnxPeerCases(builtinOnnxPeerDir()), moduleFixtures: loadModuleFixtures() };
    expect(inputs.onnxPeer.length).toBe(76);
    expect(inputs.moduleFixtures.map((f) => f.id)).toEqual(node.moduleFixtures.map((f) => f.id));
    expect(inputs.moduleFixtures.some((f) => f.id.startsWith('checkpoint-'))).toBe(true);
    expect(buildSuite(inputs).map((c) => c.id)).toEqual(buildSuite(node).map((c) => c.id));
  });

  it('names the file of a failed request', async () => {
    const missing = async (url: string) => (url.endsWith('onnx-peer.json') ? new Response('gone', { status: 404 }) : fromDisk(url));
    await expect(fetchSuiteInputs('/fx/', missing)).rejects.toMatchObject({ code: 'MHA_INVALID_TYPE', field: '/fx/onnx-peer.json', value: 404 });
  });

  it('refuses a listing that names anything but plain file names', () => {
    const listing = JSON.parse(readFileSync(join(dir, SUITE_FILES), 'utf8')) as Record<string, unknown>;
    expect(() => parseSuiteFiles(listing)).not.toThrow();
    for (const bad of ['../secret.json', '/etc/passwd.json', 'sub/dir.json', 'x.txt']) {
      expect(() => parseSuiteFiles({ ...listing, golden: [bad] })).toThrow(MhaError);
    }
    expect(() => parseSuiteFiles({ ...listing, format: 'other' })).toThrow(/format/);
  });
});
