import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBackend, isTemplateModule, loadBackends, repoBackendModules, repoRoot } from './discover.js';

describe('repoBackendModules', () => {
  it('finds the packages that declare mhaConformance.module, and marks only the example template as template', () => {
    const mods = repoBackendModules();
    const names = mods.map((m) => m.packageName);
    expect(names).toContain('@mha/backend-ts');
    // A package may list several modules: backend-onnxruntime's native entry and its ./web entry (ort-web).
    const ort = join(repoRoot(), 'packages', 'backend-onnxruntime', 'dist');
    expect(mods.filter((m) => m.packageName === '@mha/backend-onnxruntime').map((m) => m.module)).toEqual([join(ort, 'index.js'), join(ort, 'web.js')]);
    for (const m of mods) expect(m.module.startsWith(repoRoot())).toBe(true);
    expect(mods.filter(isTemplateModule).map((m) => m.dir)).toEqual(mods.filter((m) => m.dir.startsWith(join(repoRoot(), 'examples'))).map((m) => m.dir));
  });
});

describe('loadBackends', () => {
  const ts = join(repoRoot(), 'packages', 'backend-ts', 'dist', 'index.js');
  it.skipIf(!existsSync(ts))('collects the backends a built module exports', async () => {
    const backends = await loadBackends(ts);
    expect(backends.map((b) => b.name)).toContain('ts');
    expect(backends.every(isBackend)).toBe(true);
  });

  it('rejects a module without a backend', async () => {
    await expect(loadBackends(join(repoRoot(), 'packages', 'bench', 'src', 'format.ts'))).rejects.toThrow(/exports no MhaBackend/);
  });
});
