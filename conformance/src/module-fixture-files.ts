import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MhaError, MhaErrorCode } from '@mha/core';
import { readRegularFile } from './fixture-files.js';
import { parseCheckpointFixture, parseModuleFixture, type ModuleFeatureFixture } from './module-fixtures.js';

/** Directory of the module-feature fixtures shipped in this package (the repo's fixtures/module-features). */
export function builtinModuleFixturesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, 'fixtures', 'module-features'), join(here, '..', '..', 'fixtures', 'module-features')].find((d) => existsSync(join(d, 'index.json')));
  if (!found) throw new MhaError(MhaErrorCode.InvalidType, 'fixtures', 'module-features', 'module-feature fixtures not found (was the package built?)');
  return found;
}

/** Every module-feature fixture of `dir` (default: the built-in ones, plus the checkpoints beside them), sorted by file name. */
export function loadModuleFixtures(dir = builtinModuleFixturesDir()): ModuleFeatureFixture[] {
  const checkpoints = join(dir, '..', 'checkpoints');
  const fromCheckpoints = existsSync(checkpoints) ? loadCheckpointFixtures(checkpoints) : [];
  return [...loadDir(dir), ...fromCheckpoints];
}

/** The tiny GPT-2 / BERT / Llama / T5 / ViT checkpoints of fixtures/checkpoints (JSON + `.safetensors`). */
export function loadCheckpointFixtures(dir: string): ModuleFeatureFixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      const json = JSON.parse(readRegularFile(path)) as { file?: unknown };
      const file = String(json.file);
      if (!/^[a-z0-9.-]+\.safetensors$/.test(file)) throw new MhaError(MhaErrorCode.InvalidType, `${path}.file`, file, 'expected a .safetensors file name beside it');
      return parseCheckpointFixture(json, new Uint8Array(readFileSync(join(dir, file))), path);
    });
}

function loadDir(dir: string): ModuleFeatureFixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .sort()
    .map((f) => {
      const path = join(dir, f);
      let json: unknown;
      try {
        json = JSON.parse(readRegularFile(path));
      } catch (e) {
        if (e instanceof MhaError) throw e;
        throw new MhaError(MhaErrorCode.InvalidType, path, undefined, 'not valid JSON');
      }
      return parseModuleFixture(json, path);
    });
}
