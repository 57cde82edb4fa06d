import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MhaError, MhaErrorCode } from '@mha/core';
import { parseFixture, type Fixture } from './fixture.js';

/** Directory of the golden fixtures shipped inside this package (copied from the repo's fixtures/golden at build). */
export function builtinFixturesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/ has its own copy; running from src/ (tests) reads the repo's fixtures directly.
  const candidates = [join(here, 'fixtures', 'golden'), join(here, '..', '..', 'fixtures', 'golden')];
  const found = candidates.find((d) => existsSync(join(d, 'index.json')));
  if (!found) throw new MhaError(MhaErrorCode.InvalidType, 'fixtures', candidates[0], 'built-in fixtures not found (was the package built?)');
  return found;
}

/** Reads and parses one fixture file; malformed files raise an MhaError naming the file. */
export function loadFixtureFile(path: string): Fixture {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new MhaError(MhaErrorCode.InvalidType, path, undefined, `not a readable JSON fixture: ${(e as Error).message}`);
  }
  return parseFixture(json, path);
}

/** Every `*.json` fixture in `dir` except `index.json`, sorted by file name. */
export function loadFixtureDir(dir: string): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .sort()
    .map((f) => loadFixtureFile(join(dir, f)));
}
