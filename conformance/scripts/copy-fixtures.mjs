// Ships the repo's golden fixtures inside the package, so an installed @mha/conformance (outside this
// repo) still has its built-in cases. The ONNX peer cases are converted by convert-onnx-peer.mjs.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
rmSync(join(here, '..', 'dist', 'fixtures', 'onnx-attention'), { recursive: true, force: true });
for (const name of ['golden', 'module-features', 'checkpoints']) {
  const src = join(here, '..', '..', 'fixtures', name);
  const dst = join(here, '..', 'dist', 'fixtures', name);
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  cpSync(src, dst, { recursive: true });
}
