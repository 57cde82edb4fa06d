// Node entry: prints the verdict as the last line (JSON) and exits 1 on a problem.
import { run } from './main.js';

const verdict = await run({ expectPicked: process.env.EXPECT_PICKED });
console.log(JSON.stringify(verdict));
process.exitCode = verdict.ok ? 0 : 1;
