// Test-only vitest global setup: worker threads execute JavaScript files, so the threaded mode is
// tested against the built `dist` (its worker script `dist/worker-node.js` above all). Rebuilds it
// when any shipped source is newer than the build, so a test run never exercises stale code.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestSource(): number {
  const src = join(root, 'src');
  return Math.max(
    statSync(join(root, 'tsconfig.build.json')).mtimeMs,
    ...readdirSync(src)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => statSync(join(src, f)).mtimeMs),
  );
}

function oldestBuild(): number {
  const dist = join(root, 'dist');
  if (!existsSync(dist)) return -Infinity;
  const built = readdirSync(dist).filter((f) => f.endsWith('.js'));
  if (built.length === 0) return -Infinity;
  return Math.min(...built.map((f) => statSync(join(dist, f)).mtimeMs));
}

export default function setup(): void {
  if (oldestBuild() >= newestSource()) return;
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
