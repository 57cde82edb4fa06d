// Ships the repo's golden fixtures inside the package, so an installed @mha/conformance
// (outside this repo) still has its built-in cases.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, '..', '..', 'fixtures', 'golden');
const dst = join(here, '..', 'dist', 'fixtures', 'golden');
rmSync(dst, { recursive: true, force: true });
mkdirSync(dst, { recursive: true });
cpSync(src, dst, { recursive: true });
