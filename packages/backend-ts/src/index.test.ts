import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPABILITIES, initWeights, isMhaError, MhaErrorCode, randomTensor, resolveConfig } from '@mha/core';
import { describe, expect, it } from 'vitest';
import { createTsBackend, tsBackend, type TsBackendOptions } from './index.js';

describe('tsBackend', () => {
  it("is named 'ts', runs everywhere and declares every core-op capability", () => {
    expect(tsBackend.name).toBe('ts');
    expect([...tsBackend.runtimes].sort()).toEqual(['browser', 'bun', 'deno', 'edge', 'node']);
    expect([...tsBackend.capabilities].sort()).toEqual(Object.keys(CAPABILITIES).sort());
  });

  it('createTsBackend passes its name and memory policy through', async () => {
    const b = createTsBackend({ name: 'ts-lean', retainScratch: false });
    const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, causal: true });
    const m = await b.createModule(cfg, initWeights(cfg, 1));
    expect(m.backend).toBe('ts-lean');
    const x = randomTensor([1, 3, 4], 2);
    const ref = await tsBackend.createModule(cfg, initWeights(cfg, 1));
    expect(Array.from((await m.forward(x)).output.data)).toEqual(Array.from((await ref.forward(x)).output.data));
  });

  it('rejects unknown and mistyped options with typed errors', () => {
    const code = (options: unknown) => {
      try {
        createTsBackend(options as TsBackendOptions);
      } catch (e) {
        return isMhaError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(code({ retainScratc: true })).toBe(MhaErrorCode.InvalidOption);
    expect(code({ retainScratch: 'yes' })).toBe(MhaErrorCode.InvalidType);
    expect(code({ name: '' })).toBe(MhaErrorCode.InvalidType);
    expect(code(null)).toBe(MhaErrorCode.InvalidType);
    expect(code({})).toBe('none');
  });
});

describe('portability', () => {
  // The package promises browsers and edge runtimes. Shipped sources may use ECMAScript only, except the
  // threaded mode's glue, each file for a stated reason. Node-only code is reachable only through a
  // dynamic import() or a worker script URL, so a browser bundle never loads it.
  const src = dirname(fileURLToPath(import.meta.url));
  const shipped = readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const PLATFORM_APIS = [/\bprocess\b/, /\bBuffer\b/, /\brequire\(/, /\bSharedArrayBuffer\b/, /\bAtomics\b/, /\bWorker\b/, /\bsetImmediate\b/, /\bimport\(/, /\bnode:/];
  const ALLOWED: Record<string, { apis: RegExp[]; why: string }> = {
    'threaded-module-kernel.ts': { apis: [/\bSharedArrayBuffer\b/], why: 'allocates shared buffers, only when a threaded module is built' },
    'threaded-projection.ts': { apis: [/\bSharedArrayBuffer\b/], why: 'allocates shared buffers, only when a threaded module projects' },
    'worker-pool.ts': { apis: [/\bSharedArrayBuffer\b/, /\bAtomics\b/], why: 'sync arrays of the workers, only once workers start' },
    'worker-tasks.ts': { apis: [/\bAtomics\b/], why: 'runs inside workers' },
    'worker-host.ts': { apis: [/\bSharedArrayBuffer\b/, /\bAtomics\b/, /\bWorker\b/, /\bprocess\b/, /\bimport\(/], why: 'probes globals; imports a host module on demand' },
    'worker-host-node.ts': { apis: [/\bWorker\b/, /\bprocess\b/, /\bimport\(/, /\bnode:/], why: 'Node host, loaded only by a dynamic import' },
    'worker-host-web.ts': { apis: [/\bWorker\b/], why: 'Web Worker host, loaded only by a dynamic import' },
    'worker-node.ts': { apis: [/\bnode:/], why: 'the Node worker script, started by the Node host only' },
  };
  const code = (file: string) =>
    readFileSync(join(src, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');

  it('has shipped sources to check, and an allow-list naming only real files', () => {
    expect(shipped).toContain('index.ts');
    for (const file of Object.keys(ALLOWED)) expect(shipped).toContain(file);
  });

  for (const file of shipped) {
    it(`${file} uses no Node or platform API${ALLOWED[file] ? ` beyond its own (${ALLOWED[file].why})` : ''}`, () => {
      // Code only: TSDoc examples may show how a user imports the package.
      const text = code(file);
      const imports = [...text.matchAll(/^(?:import|export)\s[^;]*?from '([^']+)'/gm)].map((m) => m[1]!);
      for (const spec of imports) {
        const ok = spec === '@mha/core' || spec.startsWith('./') || (file === 'worker-node.ts' && spec === 'node:worker_threads');
        expect(ok, `${file} imports ${spec}`).toBe(true);
      }
      // Type-only mentions (typeof import('node:...')) are erased; the check looks at what runs.
      const runtime = text.replace(/typeof import\('[^']+'\)/g, '');
      for (const api of PLATFORM_APIS) {
        if (ALLOWED[file]?.apis.some((a) => a.source === api.source)) continue;
        expect(api.test(runtime), `${file} uses ${api.source}`).toBe(false);
      }
    });
  }

  it('no module statically imports the Node glue; the default backend never loads it', () => {
    for (const file of shipped) {
      const text = code(file);
      for (const nodeOnly of ['worker-host-node.js', 'worker-node.js', 'worker-host-web.js', 'worker-web.js']) {
        expect(new RegExp(`from '\\./${nodeOnly.replace('.', '\\.')}'`).test(text), `${file} statically imports ${nodeOnly}`).toBe(false);
      }
    }
  });
});

describe('createTsBackend workerUrl', () => {
  it('takes a string or a URL and refuses anything else with MHA_INVALID_TYPE', () => {
    expect(createTsBackend({ threads: 2, workerUrl: new URL('https://example.test/w.js') }).name).toBe('ts-threads');
    expect(createTsBackend({ threads: 2, workerUrl: '/w.js' }).name).toBe('ts-threads');
    let caught: unknown;
    try {
      createTsBackend({ threads: 2, workerUrl: 5 as unknown as string });
    } catch (e) {
      caught = e;
    }
    expect(isMhaError(caught, MhaErrorCode.InvalidType)).toBe(true);
    expect(caught).toMatchObject({ field: 'options.workerUrl', value: 5 });
  });
});
