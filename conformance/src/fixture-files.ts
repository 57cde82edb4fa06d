import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
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

/** Larger than any fixture we ship by far; a cap so a mistaken path cannot exhaust memory. */
const MAX_FIXTURE_BYTES = 256 * 1024 * 1024;

/**
 * Reads a regular file's bytes, refusing anything else (a FIFO would block forever, a device would
 * never end). Opened non-blocking and checked with fstat on the open descriptor, so the check and the
 * read see the same file. Errors name the path and never contain the file's bytes.
 */
export function readRegularFileBytes(path: string, maxBytes = MAX_FIXTURE_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new MhaError(MhaErrorCode.InvalidType, path, undefined, `cannot open (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new MhaError(MhaErrorCode.InvalidType, path, undefined, 'not a regular file');
    if (st.size > maxBytes) throw new MhaError(MhaErrorCode.InvalidType, path, st.size, `larger than ${maxBytes} bytes`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** {@link readRegularFileBytes} as UTF-8 text. */
export function readRegularFile(path: string, maxBytes = MAX_FIXTURE_BYTES): string {
  return readRegularFileBytes(path, maxBytes).toString('utf8');
}

/** Reads a regular file as JSON; an MhaError names the file and never quotes it (V8's message quotes the text). */
export function readJsonFile(path: string): unknown {
  const text = readRegularFile(path);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // A mistaken path (a symlink to a secret) must not leak its bytes.
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new MhaError(MhaErrorCode.InvalidType, path, undefined, `not valid JSON${at ? ` (at character ${at})` : ''}`);
  }
}

/** Reads and parses one fixture file; malformed files raise an MhaError naming the file (never quoting it). */
export function loadFixtureFile(path: string): Fixture {
  return parseFixture(readJsonFile(path), path);
}

/** Every `*.json` fixture in `dir` except `index.json`, sorted by file name. */
export function loadFixtureDir(dir: string): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .sort()
    .map((f) => loadFixtureFile(join(dir, f)));
}
