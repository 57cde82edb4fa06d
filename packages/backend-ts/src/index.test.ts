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
  // The package promises browsers and edge runtimes: shipped sources may use ECMAScript only.
  const src = dirname(fileURLToPath(import.meta.url));
  const shipped = readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

  it('has shipped sources to check', () => {
    expect(shipped).toContain('index.ts');
  });

  for (const file of shipped) {
    it(`${file} uses no Node or platform API`, () => {
      // Code only: TSDoc examples may show how a user imports the package.
      const text = readFileSync(join(src, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const spec of imports) expect(spec === '@mha/core' || spec.startsWith('./'), `${file} imports ${spec}`).toBe(true);
      for (const api of [/\bprocess\./, /\bBuffer\b/, /\brequire\(/, /\bSharedArrayBuffer\b/, /\bWorker\b/, /\bsetImmediate\b/]) {
        expect(api.test(text), `${file} uses ${api.source}`).toBe(false);
      }
    });
  }
});
