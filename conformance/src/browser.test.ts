import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

/** Every module reachable from `entry` through relative imports. */
function closure(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const src = readFileSync(join(here, entry), 'utf8');
  for (const m of src.matchAll(/^(?:import|export)\s(?!type\b)[^'";]*from\s+'(\.[^']+)\.js'/gm)) closure(`${join(dirname(entry), m[1]!)}.ts`, seen);
  return seen;
}

describe('@mha/conformance/browser', () => {
  it('reaches no Node built-in, at any depth', () => {
    const files = closure('browser.ts');
    expect(files.size).toBeGreaterThan(10);
    for (const f of files) {
      const src = readFileSync(join(here, f), 'utf8');
      const runtime = src.split('\n').filter((l) => /^(?:import|export)\s/.test(l) && !/^(?:import|export)\s+type\s/.test(l));
      expect(runtime.filter((l) => /from\s+'node:/.test(l)), f).toEqual([]);
    }
  });
});
