// Ships the repo's golden fixtures and the ONNX peer cases inside the package, so an installed
// @mha/conformance (outside this repo) still has its built-in cases.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const name of ['golden', 'onnx-attention']) {
  const src = join(here, '..', '..', 'fixtures', name);
  const dst = join(here, '..', 'dist', 'fixtures', name);
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  cpSync(src, dst, { recursive: true });
}
