#!/usr/bin/env node
// Public docs and TSDoc must not use words a user cannot decode: the project's internal names for the
// PyTorch examples it reproduces ("seed 004", "the seeds"). Say "the fused-QKV layer from the tutorial",
// "the book's MultiHeadAttention", "the 128 -> 4 heads x 32 example". Scans tracked *.md files and
// non-test TypeScript sources; exits 1 listing each hit.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const INTERNAL = /\bseeds?[ -]?0\d\d\b|\bthe seeds\b|\bseeds'/i;
const files = execFileSync('git', ['ls-files', '*.md', '*.ts'], { cwd: repo, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && !/\.test\.ts$|test-support\/|test-fixtures|CHANGELOG\.md$|^\.changeset\//.test(f));
const hits = [];
for (const f of files) {
  readFileSync(join(repo, f), 'utf8')
    .split('\n')
    .forEach((line, i) => INTERNAL.test(line) && hits.push(`${f}:${i + 1}: ${line.trim()}`));
}
for (const h of hits) console.log(`internal wording: ${h}`);
console.log(hits.length === 0 ? `docs wording: ${files.length} files, no internal names` : `docs wording: ${hits.length} line(s) to reword`);
process.exitCode = hits.length === 0 ? 0 : 1;
