// The README's runnable example (examples/ort-web.mjs) runs against the built package and prints numbers
// close to the float64 reference.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('examples/ort-web.mjs runs and matches the reference', () => {
  const script = fileURLToPath(new URL('../examples/ort-web.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const diffs = [...r.stdout.matchAll(/max abs diff (?:from the float64 reference )?([0-9.e+-]+)/g)].map((m) => Number(m[1]));
  expect(diffs).toHaveLength(2);
  for (const d of diffs) expect(d).toBeLessThan(1e-4);
  expect(r.stdout).toMatch(/^ort-web on 1 thread\(s\): output \[1,64,768\]/);
});
