import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBackends, packageEntry, resolveModule } from './load-backend.js';

function pkgDir(pkg: object, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mha-load-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('--backend accepts a package directory', () => {
  it('reads mhaConformance.module first, then exports (node/import/default), then main', () => {
    const a = pkgDir({ mhaConformance: { module: 'dist/c.js' }, exports: './dist/e.js', main: 'm.js' }, { 'dist/c.js': '', 'dist/e.js': '', 'm.js': '' });
    expect(packageEntry(a)).toBe(join(a, 'dist/c.js'));
    const b = pkgDir({ exports: { '.': { types: './x.d.ts', import: './dist/e.js', require: './dist/e.cjs' } }, main: 'm.js' }, { 'dist/e.js': '', 'm.js': '' });
    expect(packageEntry(b)).toBe(join(b, 'dist/e.js'));
    const c = pkgDir({ main: 'lib/m.js' }, { 'lib/m.js': '' });
    expect(packageEntry(c)).toBe(join(c, 'lib/m.js'));
  });

  it('names a missing entry (an unbuilt package) instead of failing on a directory import', () => {
    const d = pkgDir({ exports: './dist/index.js' }, {});
    expect(() => packageEntry(d)).toThrow(/dist\/index\.js does not exist \(is the package built\?\)/);
  });

  it('loads the backends of a directory given with or without ./', async () => {
    const d = pkgDir({ type: 'module', exports: { '.': { import: './index.js' } } }, {
      'index.js': "export const b = { name: 'dir-backend', capabilities: [], createModule() {}, attention() {} };",
    });
    expect(fileURLToPath(resolveModule(d))).toBe(join(d, 'index.js'));
    expect(fileURLToPath(resolveModule(d.split('/').pop()!, join(d, '..')))).toBe(join(d, 'index.js'));
    expect((await loadBackends(d)).map((b) => b.name)).toEqual(['dir-backend']);
  });
});
