// The JSON Schemas in conformance/schemas/ against every committed fixture and a real CLI report, what they
// refuse (each refusal naming the field), and the loaders refusing the same missing fields.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { isMhaError } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFixture } from './fixture.js';
import { parseCheckpointFixture, parseModuleFixture } from './module-fixtures.js';
import { parseReportJSON } from './report.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(pkg, '..', 'fixtures');
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const clone = <T>(v: T): T => structuredClone(v);

// strictRequired is off only because it flags `anyOf: [{ required: ['headDim'] }, ...]` (defined one level up).
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
const schemaJson = (name: string) => readJson(join(pkg, 'schemas', `${name}.schema.json`)) as Record<string, unknown>;
const validators = new Map<string, ValidateFunction>();
function validator(name: string): ValidateFunction {
  if (!validators.has(name)) validators.set(name, ajv.compile(schemaJson(name)));
  return validators.get(name)!;
}
function errorsOf(name: string, data: unknown): ErrorObject[] {
  const v = validator(name);
  return v(data) ? [] : [...(v.errors ?? [])];
}

/** `/reports/0/results/2` + `status` -> `reports[0].results[2].status`: how the loaders name fields. */
function dotted(pointer: string, last?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (last !== undefined) parts.push(last);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function loaderError(f: () => unknown): { code: string; field: string } | undefined {
  try {
    f();
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  return undefined;
}

/** Deletes `path` from a copy of `doc`. */
function without(doc: unknown, path: readonly (string | number)[]): unknown {
  const copy = clone(doc) as Record<string | number, unknown>;
  let o = copy;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string | number, unknown>;
  delete o[path[path.length - 1]!];
  return copy;
}

/** Every name in a `required` list anywhere in the schema, except `anyOf` alternatives (headDim or dOut). */
function requiredNames(schema: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) requiredNames(s, out);
  else if (schema && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema)) {
      if (k === 'required' && Array.isArray(v)) for (const n of v) out.add(String(n));
      else if (k !== 'anyOf') requiredNames(v, out);
    }
  }
  return out;
}

const jsonFiles = (dir: string) => readdirSync(join(fixtures, dir)).filter((f) => f.endsWith('.json')).sort();

describe('fixture schemas accept every committed fixture', () => {
  for (const [dir, schema] of [['golden', 'fixture'], ['module-features', 'module-fixture'], ['checkpoints', 'checkpoint-fixture']] as const) {
    it(`fixtures/${dir}: ${schema}.schema.json (index.json: fixture-index.schema.json)`, () => {
      const files = jsonFiles(dir);
      expect(files.length).toBeGreaterThan(4);
      for (const f of files) {
        const name = f === 'index.json' ? 'fixture-index' : schema;
        expect(errorsOf(name, readJson(join(fixtures, dir, f))), `${dir}/${f}`).toEqual([]);
      }
    });
  }

  it('the three copies of the tensor and config definitions are identical', () => {
    const defs = ['fixture', 'module-fixture', 'checkpoint-fixture'].map((n) => schemaJson(n).$defs as Record<string, unknown>);
    for (const d of defs.slice(1)) expect(d.tensor).toEqual(defs[0]!.tensor);
    // Only the description of `scale` differs (T5's scale 1 is mentioned in the checkpoint schema).
    const config = (d: Record<string, unknown>) => JSON.stringify(d.moduleConfig).replace(/"description":"[^"]*"/g, '');
    for (const d of defs.slice(1)) expect(config(d)).toBe(config(defs[0]!));
  });
});

const golden = readJson(join(fixtures, 'golden', 'torch-mha-bias.json'));
const goldenOp = readJson(join(fixtures, 'golden', 'attention-causal.json'));
const moduleCase = readJson(join(fixtures, 'module-features', 'mha-cross-kdim-vdim.json'));
const decodeCase = readJson(join(fixtures, 'module-features', 'decode-left-padding.json'));
const maskCase = readJson(join(fixtures, 'module-features', jsonFiles('module-features').find((f) => JSON.stringify(readJson(join(fixtures, 'module-features', f))).includes('"attnMask"'))!));
const t5 = readJson(join(fixtures, 'checkpoints', 't5-tiny.json'));
const t5File = new Uint8Array(readFileSync(join(fixtures, 'checkpoints', 't5-tiny.safetensors')));

type Loader = (doc: unknown) => unknown;
interface Format {
  readonly schema: string;
  readonly load: Loader;
  /** Each required field, as a path into one of the samples. */
  readonly required: readonly { doc: unknown; path: (string | number)[]; load?: Loader }[];
}

const FORMATS: readonly Format[] = [
  {
    schema: 'fixture',
    load: (d) => parseFixture(d, 'f'),
    required: [
      ...['format', 'id', 'kind', 'expected', 'config', 'weightLayout', 'weights', 'inputs'].map((k) => ({ doc: golden, path: [k] })),
      { doc: golden, path: ['expected', 'output'] },
      { doc: golden, path: ['inputs', 'x'] },
      { doc: golden, path: ['config', 'dIn'] },
      { doc: golden, path: ['config', 'heads'] },
      { doc: golden, path: ['config', 'headDim'] },
      ...['shape', 'dtype', 'data'].map((k) => ({ doc: golden, path: ['inputs', 'x', k] })),
      { doc: goldenOp, path: ['options'] },
      { doc: goldenOp, path: ['options', 'causal'] },
      ...['q', 'k', 'v'].map((k) => ({ doc: goldenOp, path: ['inputs', k] })),
    ],
  },
  {
    schema: 'module-fixture',
    load: (d) => parseModuleFixture(d, 'f'),
    required: [
      ...['format', 'id', 'description', 'oracle', 'config', 'weights', 'inputs', 'options', 'expected'].map((k) => ({ doc: moduleCase, path: [k] })),
      ...['wq', 'wk', 'wv'].map((k) => ({ doc: moduleCase, path: ['weights', k] })),
      { doc: moduleCase, path: ['inputs', 'x'] },
      { doc: moduleCase, path: ['expected', 'output'] },
      { doc: moduleCase, path: ['expected', 'weights'] },
      { doc: moduleCase, path: ['config', 'dIn'] },
      { doc: moduleCase, path: ['config', 'heads'] },
      { doc: moduleCase, path: ['config', 'headDim'] },
      ...['shape', 'dtype', 'data'].map((k) => ({ doc: moduleCase, path: ['inputs', 'x', k] })),
      { doc: maskCase, path: ['options', 'attnMask', 'dtype'] },
      { doc: maskCase, path: ['options', 'attnMask', 'tensor'] },
      { doc: decodeCase, path: ['decode', 'chunks'] },
    ],
  },
  {
    schema: 'checkpoint-fixture',
    load: (d) => parseCheckpointFixture(d, t5File, 'f'),
    required: [
      ...['format', 'id', 'description', 'oracle', 'layout', 'prefix', 'file', 'fileDtype', 'config', 'stateDict', 'inputs', 'options', 'expected'].map((k) => ({ doc: t5, path: [k] })),
      { doc: t5, path: ['inputs', 'x'] },
      { doc: t5, path: ['expected', 'output'] },
      { doc: t5, path: ['config', 'dIn'] },
      { doc: t5, path: ['config', 'heads'] },
      { doc: t5, path: ['config', 'headDim'] },
      ...['shape', 'dtype', 'data'].map((k) => ({ doc: t5, path: ['inputs', 'x', k] })),
    ],
  },
];

describe('fixture schemas refuse a missing required field, and so do the loaders, naming the same field', () => {
  for (const f of FORMATS) {
    it(`${f.schema}: the cases below cover every required field of the schema`, () => {
      const named = new Set(f.required.map((r) => String(r.path[r.path.length - 1])));
      expect([...requiredNames(schemaJson(f.schema))].filter((n) => !named.has(n))).toEqual([]);
    });
    for (const r of f.required) {
      const field = r.path.join('.');
      it(`${f.schema}: without ${field}`, () => {
        expect(errorsOf(f.schema, r.doc), 'the sample itself is valid').toEqual([]);
        const doc = without(r.doc, r.path);
        const parent = `/${r.path.slice(0, -1).join('/')}`.replace(/\/$/, '');
        const missing = String(r.path[r.path.length - 1]);
        expect(errorsOf(f.schema, doc).map((e) => `${e.instancePath} ${e.keyword} ${String(e.params.missingProperty)}`)).toContain(`${parent} required ${missing}`);
        const err = loaderError(() => (r.load ?? f.load)(doc));
        expect(err, 'the loader refuses it too').toBeDefined();
        expect(err!.field.endsWith(field), `loader field ${err!.field} names ${field}`).toBe(true);
      });
    }
  }
});

describe('fixture schemas refuse malformed values, naming the field', () => {
  const set = (doc: unknown, path: (string | number)[], value: unknown) => {
    const copy = clone(doc) as Record<string | number, unknown>;
    let o = copy;
    for (const p of path.slice(0, -1)) o = o[p] as Record<string | number, unknown>;
    o[path[path.length - 1]!] = value;
    return copy;
  };
  const cases: [string, string, unknown, string, string][] = [
    ['fixture', 'a wrong format', set(golden, ['format'], 'mha-fixture/2'), '/format', 'const'],
    ['fixture', 'an id with a slash', set(golden, ['id'], '../x'), '/id', 'pattern'],
    ['fixture', 'an unknown kind', set(golden, ['kind'], 'layer'), '/kind', 'enum'],
    ['fixture', 'a control character in a description', set(golden, ['description'], 'a\u001b[31m'), '/description', 'pattern'],
    ['fixture', 'a float64 tensor', set(golden, ['inputs', 'x', 'dtype'], 'float64'), '/inputs/x/dtype', 'const'],
    ['fixture', 'a negative dim', set(golden, ['inputs', 'x', 'shape'], [2, -1]), '/inputs/x/shape/1', 'minimum'],
    ['fixture', 'base64 with a line break', set(golden, ['inputs', 'x', 'data'], 'AAAA\nAAAA'), '/inputs/x/data', 'pattern'],
    ['fixture', 'an unknown top-level key', set(golden, ['extra'], 1), '', 'additionalProperties'],
    ['fixture', 'an unknown config key', set(golden, ['config', 'causl'], true), '/config', 'additionalProperties'],
    ['fixture', 'an unknown layout', set(golden, ['weightLayout'], 'gpt3'), '/weightLayout', 'enum'],
    ['fixture', 'a string scale', set(goldenOp, ['options', 'scale'], '0.5'), '/options/scale', 'type'],
    ['module-fixture', 'an unknown weight name', set(moduleCase, ['weights', 'w_q'], (moduleCase as { weights: { wq: unknown } }).weights.wq), '/weights', 'propertyNames'],
    ['module-fixture', 'a key without a value', without(moduleCase, ['inputs', 'value']), '/inputs', 'dependentRequired'],
    ['module-fixture', 'an unknown mask dtype', set(maskCase, ['options', 'attnMask', 'dtype'], 'int8'), '/options/attnMask/dtype', 'enum'],
    ['module-fixture', 'an unknown causal alignment', set(moduleCase, ['options', 'causalAlign'], 'top-right'), '/options/causalAlign', 'enum'],
    ['checkpoint-fixture', 'a file that is not .safetensors', set(t5, ['file'], 'model.bin'), '/file', 'pattern'],
    ['checkpoint-fixture', 'an unknown file dtype', set(t5, ['fileDtype'], 'F64'), '/fileDtype', 'enum'],
    ['checkpoint-fixture', 'a non-tensor in the state_dict', set(t5, ['stateDict', 'shared.weight'], [1, 2]), '/stateDict/shared.weight', 'type'],
  ];
  for (const [schema, name, doc, path, keyword] of cases) {
    it(`${schema}: ${name} (${keyword} at '${path}')`, () => {
      expect(errorsOf(schema, doc).map((e) => `${e.instancePath} ${e.keyword}`)).toContain(`${path} ${keyword}`);
    });
  }
});

// A real report: the built CLI (turbo builds this package before its tests) on a correct and a buggy backend.
const dist = join(pkg, 'dist');
const tmp = mkdtempSync(join(tmpdir(), 'mha-schema-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cliReport(bug: string, groups: string[]): { code: number | null; text: string } {
  const module = join(tmp, `${bug}.mjs`);
  writeFileSync(module, `import { buggyBackend } from ${JSON.stringify(pathToFileURL(join(dist, 'buggy-backends.js')).href)};\nexport default buggyBackend(${JSON.stringify(bug)});\n`);
  const out = join(tmp, `${bug}.json`);
  const r = spawnSync(process.execPath, [join(dist, 'cli.js'), '--backend', module, '--json', out, ...groups.flatMap((g) => ['--group', g])], { encoding: 'utf8', env: { ...process.env, MHA_CONFORMANCE_CHILD: '' } });
  return { code: r.status, text: readFileSync(out, 'utf8') };
}

describe('report.schema.json', () => {
  const good = cliReport('none', ['shapes', 'errors']);
  const bad = cliReport('merge-order', ['head-split', 'numeric']);

  it('accepts what mha-conformance --json writes, passing and failing (worst element, error map, likely causes)', () => {
    expect(good.code).toBe(0);
    expect(bad.code).toBe(1);
    for (const r of [good, bad]) expect(errorsOf('report', JSON.parse(r.text))).toEqual([]);
    const failing = (JSON.parse(bad.text) as { reports: { likelyCauses?: unknown[]; results: { status: string; worst?: unknown; errorMap?: unknown }[] }[] }).reports[0]!;
    expect(failing.likelyCauses?.length).toBeGreaterThan(0);
    expect(failing.results.some((x) => x.status === 'fail' && x.worst !== undefined && x.errorMap !== undefined)).toBe(true);
  });

  it("names this version's schema in $schema, and the package ships it at that path", () => {
    const { version } = readJson(join(pkg, 'package.json')) as { version: string; files: string[] };
    const doc = JSON.parse(good.text) as { $schema: string };
    expect(doc.$schema).toBe(`https://unpkg.com/@mha/conformance@${version}/schemas/report.schema.json`);
    const manifest = readJson(join(pkg, 'package.json')) as { files: string[]; exports: Record<string, unknown> };
    expect(manifest.files).toContain('schemas');
    expect(manifest.exports['./schemas/*.json']).toBe('./schemas/*.json');
    expect(schemaJson('report').$id).toBe('https://unpkg.com/@mha/conformance/schemas/report.schema.json');
  });

  it('accepts non-finite numbers as the strings reportToJSON writes, and nothing else', () => {
    const doc = JSON.parse(bad.text) as { reports: { results: Record<string, unknown>[] }[] };
    const withInf = clone(doc);
    Object.assign(withInf.reports[0]!.results[0]!, { maxAbs: 'Infinity', ratio: 'NaN', looseRatio: '-Infinity' });
    expect(errorsOf('report', withInf)).toEqual([]);
    const r = parseReportJSON(JSON.stringify(withInf))[0]!.results[0]!;
    expect([r.maxAbs, r.ratio, r.looseRatio]).toEqual([Infinity, NaN, -Infinity]);
    const withNull = clone(doc);
    withNull.reports[0]!.results[0]!.maxAbs = null;
    expect(errorsOf('report', withNull).map((e) => e.instancePath)).toContain('/reports/0/results/0/maxAbs');
  });

  it('refuses a missing required field, and so does parseReportJSON, naming the same field', () => {
    const doc = JSON.parse(bad.text) as { reports: { results: unknown[]; likelyCauses: unknown[] }[] };
    const fail = doc.reports[0]!.results.findIndex((x) => (x as { errorMap?: unknown }).errorMap !== undefined);
    const paths: (string | number)[][] = [
      ['format'],
      ['reports'],
      ...['backend', 'capabilities', 'tolerance', 'results'].map((k) => ['reports', 0, k]),
      ['reports', 0, 'tolerance', 'atol'],
      ['reports', 0, 'tolerance', 'rtol'],
      ...['id', 'group', 'title', 'spec', 'status', 'maxAbs', 'maxRel', 'ratio', 'ms'].map((k) => ['reports', 0, 'results', fail, k]),
      ...['index', 'position', 'expected', 'actual'].map((k) => ['reports', 0, 'results', fail, 'worst', k]),
      ...['shape', 'lead', 'rowStart', 'colStart', 'rows', 'cols', 'cells'].map((k) => ['reports', 0, 'results', fail, 'errorMap', k]),
      ['reports', 0, 'likelyCauses', 0, 'bug'],
      ['reports', 0, 'likelyCauses', 0, 'hint'],
    ];
    const named = new Set(paths.map((p) => String(p[p.length - 1])));
    expect([...requiredNames(schemaJson('report'))].filter((n) => !named.has(n))).toEqual([]);
    for (const path of paths) {
      const broken = without(doc, path);
      const parent = `/${path.slice(0, -1).join('/')}`.replace(/\/$/, '');
      const last = String(path[path.length - 1]);
      expect(errorsOf('report', broken).map((e) => `${e.instancePath} ${e.keyword} ${String(e.params.missingProperty)}`), path.join('.')).toContain(`${parent} required ${last}`);
      const err = loaderError(() => parseReportJSON(JSON.stringify(broken)));
      expect(err?.field, path.join('.')).toBe(`report.${dotted(parent, last)}`);
    }
  });
});
