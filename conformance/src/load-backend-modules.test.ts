// `mhaConformance.module` may list several modules (a package with more than one entry point offering
// backends, like @mha/backend-onnxruntime's `.` and `./web`): `--repo` runs each.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { packageEntry, repoBackendModules } from './load-backend.js';

const root = mkdtempSync(join(tmpdir(), 'mha-repo-modules-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a package listing several modules contributes each, a single one still works, none is skipped', () => {
  const pkg = (name: string, json: object) => {
    mkdirSync(join(root, 'packages', name), { recursive: true });
    writeFileSync(join(root, 'packages', name, 'package.json'), JSON.stringify(json));
  };
  pkg('a', { mhaConformance: { module: ['./dist/index.js', './dist/web.js'] } });
  pkg('b', { mhaConformance: { module: './dist/index.js' } });
  pkg('c', { name: 'not-a-backend' });
  expect(repoBackendModules(root)).toEqual([join(root, 'packages', 'a', 'dist', 'index.js'), join(root, 'packages', 'a', 'dist', 'web.js'), join(root, 'packages', 'b', 'dist', 'index.js')]);
});

it('--backend <package directory> takes the first listed module', () => {
  const dir = join(root, 'packages', 'd');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'index.js'), '');
  writeFileSync(join(dir, 'dist', 'web.js'), '');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ mhaConformance: { module: ['./dist/index.js', './dist/web.js'] } }));
  expect(packageEntry(dir)).toBe(join(dir, 'dist', 'index.js'));
});
