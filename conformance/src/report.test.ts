import { defineBackend, type MhaBackend } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { buggyBackend } from './buggy-backends.js';
import { compare } from './compare.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases } from './onnx-peer.js';
import { DEFAULT_PROFILE, PROFILES, profileFor, parseProfile, parseTolerance } from './profiles.js';
import { referenceBackend } from './reference-backend.js';
import { formatDetails, formatTable, parseReportJSON, printable, reportToJSON } from './report.js';
import { runSuite, type BackendReport, type CaseResult } from './suite.js';

const fixtures = loadFixtureDir(builtinFixturesDir());
const onnxPeer = loadOnnxPeerCases(builtinOnnxPeerDir());

/** `target` under another name (and optionally fewer capabilities). */
function renamed(target: MhaBackend, name: string, capabilities = target.capabilities): MhaBackend {
  return defineBackend({
    name,
    runtimes: ['node'],
    capabilities: [...capabilities],
    createKernel: async (config, weights) => {
      const m = await target.createModule(config, weights);
      return { forward: async (input, o) => ({ output: (await m.forward({ data: input.x, shape: [input.batch, input.tokens, config.dIn] }, o)).output.data }), dispose: () => m.dispose() };
    },
    attention: async (a) => ({ output: (await target.attention({ data: a.q, shape: [a.batch, a.qHeads, a.tq, a.dk] }, { data: a.k, shape: [a.batch, a.kvHeads, a.tk, a.dk] }, { data: a.v, shape: [a.batch, a.kvHeads, a.tk, a.dv] }, { causal: a.causal, scale: a.scale, mask: a.mask, softcap: a.softcap || undefined })).output.data }),
  });
}

const fail = (over: Partial<CaseResult>): CaseResult => ({ id: 'numeric/x', group: 'numeric', title: '', spec: '', status: 'fail', maxAbs: 0, maxRel: 0, ratio: 0, ms: 0, ...over });
const report = (backend: string, results: CaseResult[]): BackendReport => ({ backend, capabilities: [], tolerance: DEFAULT_PROFILE.tolerance, results });

describe('report text', () => {
  it('printable escapes terminal controls (ANSI, CR, bidi overrides) and keeps newlines only when asked', () => {
    expect(printable('a\u001b[31mb\rc\u202ed\u0085')).toBe('a\\x1b[31mb\\x0dc\\u202ed\\x85');
    expect(printable('a\nb')).toBe('a\\x0ab');
    expect(printable('a\nb', true)).toBe('a\nb');
  });
  it('a backend name or failure text with escapes is printed escaped in the table and the details', () => {
    const r = report('\u001b[2Jevil', [fail({ id: 'numeric/\u001b]0;x', reason: 'threw Error: \u001b[31mred' })]);
    const text = `${formatTable([r])}\n${formatDetails([r])}`;
    expect(text).not.toContain('\u001b');
    expect(text).toContain('\\x1b[2Jevil');
  });
  it("prints each failure's worst element once, with tolerances rounded", async () => {
    const r = await runSuite(buggyBackend('no-scale'), { fixtures, groups: ['numeric'], diagnose: false });
    const blocks = formatDetails([r]).split(/^(?=FAIL )/m).filter((b) => b.startsWith('FAIL'));
    expect(blocks.length).toBeGreaterThan(10);
    for (const b of blocks.filter((x) => x.includes('worst element'))) expect(b.match(/worst element/g)).toHaveLength(1);
    const tols = [...formatDetails([r]).matchAll(/[ar]tol (\S+)/g)].map((m) => m[1]!);
    expect(tols.length).toBeGreaterThan(10);
    // Scaled tolerances such as 0.000011485521793365479 are printed with 3 significant digits.
    for (const t of tols) expect(t.replace(/^0\.0*/, '').replace('.', '').length, t).toBeLessThanOrEqual(3);
    expect(tols).toContain('0.0000115');
  });
  it('a NaN output fails with its position, also after a JSON round trip through a child process report', () => {
    const expected = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    const actual = { data: Float32Array.from([1, 2, 3, 4, Number.NaN, 6]), shape: [2, 3] };
    const c = compare(actual, expected, { atol: 1e-5, rtol: 1e-4 });
    expect(c.ok).toBe(false);
    expect(c.worst).toMatchObject({ index: 4, position: [1, 1], expected: 5 });
    expect(Number.isNaN(c.worst!.actual)).toBe(true);
    const [back] = parseReportJSON(reportToJSON([report('b', [fail({ reason: 'output differs', worst: c.worst, maxAbs: Infinity, ratio: Infinity })])]));
    expect(Number.isNaN(back!.results[0]!.worst!.actual)).toBe(true);
    expect(back!.results[0]!.maxAbs).toBe(Infinity);
    expect(formatDetails([back!])).toContain('worst element [1,1]: expected 5, got NaN');
    expect(formatTable([back!])).toMatch(/\binf\b/);
  });
  it('prints a skip reason once for every backend that has it, with per-backend counts', () => {
    const skip = (reason: string): CaseResult => ({ ...fail({}), status: 'skip', reason });
    const text = formatDetails([report('a', [skip('no cache'), skip('no cache')]), report('b', [skip('no cache'), skip('no cache')]), report('c', [skip('no cache'), skip('other')])]);
    expect(text.match(/no cache/g)).toHaveLength(1);
    expect(text).toContain('x2 on a, b; x1 on c');
    expect(formatDetails([report('a', [skip('r')]), report('b', [skip('r')])])).toContain('x1 on every backend');
  });
  it('the table of the repo-sized run stays under 120 columns, with fp16 peer cases in their own column', async () => {
    const r = await runSuite(referenceBackend, { fixtures, onnxPeer });
    const reports = ['ort-attention-op', 'ort-decomposed', 'tfjs-cpu', 'tfjs-wasm', 'ts', 'ts-threads', 'template'].map((name) => ({ ...r, backend: name }));
    const table = formatTable(reports);
    for (const line of table.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
    const [head, , row] = table.split('\n');
    const col = (name: string) => row!.slice(head!.indexOf(name)).split(/\s+/)[0]!;
    // float32 comparisons use a small part of their tolerance; the fp16 ones are reported apart.
    expect(Number(col('err/tol'))).toBeLessThan(0.1);
    expect(Number(col('fp16'))).toBeGreaterThan(Number(col('err/tol')));
  });
  it('errors/unsupported-capability-is-refused passes (vacuously) when every capability is declared, and still runs otherwise', async () => {
    const all = await runSuite(referenceBackend, { fixtures, groups: ['errors'], filter: 'unsupported-capability' });
    expect(all.results.map((r) => r.status)).toEqual(['pass']);
    const fewer = await runSuite(renamed(referenceBackend, 'fewer', ['cross-attention']), { fixtures, groups: ['errors'], filter: 'unsupported-capability' });
    expect(fewer.results.map((r) => r.status)).toEqual(['pass']);
  });
});

describe('profiles', () => {
  it("a backend named like a repo backend gets the repo profile only when it is the repo's", async () => {
    const original = PROFILES.ts;
    const id = 'shapes/core-op/self/q=[2,3,5,4],k=[2,3,5,4],v=[2,3,5,4]';
    (PROFILES as Record<string, unknown>).ts = { tolerance: { atol: 0.5, rtol: 0.5 }, expectations: { [id]: 'test expectation' } };
    try {
      const impostor = renamed(referenceBackend, 'ts');
      const thirdParty = await runSuite(impostor, { fixtures, groups: ['shapes'] });
      expect(thirdParty.tolerance).toEqual(DEFAULT_PROFILE.tolerance);
      expect(thirdParty.results.some((r) => r.reason?.includes('test expectation'))).toBe(false);
      const own = await runSuite(impostor, { fixtures, groups: ['shapes'], repoProfile: true });
      expect(own.tolerance).toEqual({ atol: 0.5, rtol: 0.5 });
      expect(own.results.filter((r) => r.reason?.includes('test expectation')).map((r) => r.id)).toEqual([id]);
    } finally {
      (PROFILES as Record<string, unknown>).ts = original;
    }
    expect(profileFor('ts', undefined).tolerance).toBe(DEFAULT_PROFILE.tolerance);
  });
  it('parses profile files and --tolerance strictly', () => {
    expect(parseProfile({ tolerance: { atol: 1e-3, rtol: 0 }, expectations: { 'numeric/x': 'known' } }, 'p.json')).toEqual({ tolerance: { atol: 1e-3, rtol: 0 }, expectations: { 'numeric/x': 'known' } });
    expect(() => parseProfile({ tolerence: {} }, 'p.json')).toThrow(/p\.json: unknown key "tolerence"/);
    expect(() => parseProfile(JSON.parse('{"__proto__": {}}'), 'p.json')).toThrow(/unknown key "__proto__"/);
    expect(() => parseProfile({ tolerance: { atol: -1, rtol: 0 } }, 'p.json')).toThrow(/finite numbers >= 0/);
    expect(() => parseProfile({ expectations: { a: '' } }, 'p.json')).toThrow(/non-empty reason/);
    expect(parseTolerance('1e-5,1e-4'.split(','))).toEqual({ atol: 1e-5, rtol: 1e-4 });
    for (const bad of ['1e-5', '1e-5,x', 'NaN,1', '0,0', ',1', '1,2,3']) expect(() => parseTolerance(bad.split(',')), bad).toThrow();
  });
});
