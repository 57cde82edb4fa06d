import { checkDecodeTargets, decodeNotMeasured, GEN_HEADER, genRows, LINEAR_RATIO_LIMIT, stepHeader, stepLengths, stepRows, torchProvenance } from './decode-report.js';
import { GEN_PROMPT, GEN_TOKENS } from './decode-cells.js';
import { markdownTable } from './format.js';
import type { DecodeRun } from './results.js';

/** BENCHMARKS.md's decode section (issue 14): method, PyTorch's anchor, the two tables, the targets. */
export function decodeSection(d: DecodeRun, logicalCpus: number): string[] {
  const [a, b] = stepLengths(d).map((x) => x.toLocaleString('en-US')) as [string, string];
  const loads = [d.loadAverageStart, d.loadAverageEnd ?? d.loadAverageStart, ...(d.torch?.source.startsWith('this run') ? [d.torch.anchor.loadAverage1m] : [])];
  const loaded = Math.min(...loads) > logicalCpus;
  const lines = [
    '## Decode (issue 14)',
    '',
    `Measured ${d.startedAt.replace('T', ' ').slice(0, 16)} UTC, 1-minute load average ${d.loadAverageStart} at the start and ${d.loadAverageEnd ?? '?'} at the end of the decode cells. ` +
      'Module config: gpt2-layer width (dIn = dOut = 768, 12 heads of 64, causal, q/k/v and out biases, out projection), `initWeights(config, 1)`; one child process per (cell, backend) like the forward cells.',
    '',
    `- **module step**: \`module.forward(x [1, 1, 768], { cache })\` over ${a} and ${b} cached tokens (a \`createModuleCache\` filled with random keys and values), the cache truncated back after each call: the projections of one token, attention over the cache, the output projection. PyTorch's anchor is the same layer step (\`Linear\` q/k/v, \`cat\` onto the cache, attention, \`Linear\` out).`,
    `- **core KvCache**: \`attention(q, k, v, { causal: true, cache })\` with a \`KvCache\` (attention only, 12 heads of 64); **core pastKey**: the same step with \`pastKey\`/\`pastValue\` tensors, the whole cache handed in (and validated) on every call. PyTorch's core step (attention with a \`cat\` of the cache) is shown in both ${b} columns.`,
    `- The five kinds of call alternate in rotating order, round after round, in one process, so load from other jobs hits them alike; medians of wall time per call, **CPU ms** the median process CPU time (all threads) of the same calls. **${b}/${a}**: the step at ${b} over the step at ${a}: at most 2 when the cost is \`a + b * L\` (linear in the cache length), more when work grows faster (re-running the prefix).`,
    `- **generation**: a ${GEN_PROMPT}-token prompt (a prefill \`forward(prompt, { cache })\`, not timed), then ${GEN_TOKENS} tokens one at a time through \`forward(x, { cache })\`; and the core op feeding each call's \`presentKey\`/\`presentValue\` back. Tokens/s of the median of up to 3 timed runs, after a ${GEN_PROMPT}-token warm-up generation.`,
    `- **x PyTorch**: module step at ${b} over PyTorch's layer step at ${b}, wall time.`,
    '',
    ...(loaded
      ? [
          `> **Loaded machine.** The 1-minute load average stayed above the ${logicalCpus} logical CPUs through the decode cells (${Math.min(...loads)} to ${Math.max(...loads)}): every process got a changing fraction of a core. ` +
            'Wall times of cells measured minutes apart, and their ratios to PyTorch\'s anchor, are not reliable, so the met / not met verdicts on wall time below say little. ' +
            'Ratios inside a row (the step at two cache lengths, paired call by call) hold better, and CPU-time ratios move less with load for single-threaded rows (a multi-threaded row\'s CPU time also counts threads that spin while they wait).',
          '',
        ]
      : []),
    'Quoted from issue 14 for context (measured by its author on this machine, 2026-12-01, outside this harness): PyTorch\'s cached layer step 1.85 ms; re-running the whole module at T = 1,025 (no cache) `ts` 2,330 ms, ORT 80 ms; a step by hand through `attention()` before the cache existed `ts` 21 ms, ORT 4.3 ms, a bare ORT session 0.5 ms.',
    '',
    d.torch ? `PyTorch anchor: ${torchProvenance(d.torch.source, d.torch.anchor)}.` : 'No PyTorch anchor in this run (`/usr/bin/python3 packages/bench/scripts/decode-torch.py --json packages/bench/results/decode-torch.json`, or `--torch <python>`).',
    '',
  ];
  if (d.cells.some((c) => c.cell === 'decode-step')) lines.push(`### One new token over ${a} and ${b} cached tokens`, '', markdownTable(stepHeader(stepLengths(d)), stepRows(d), [false, ...stepHeader(stepLengths(d)).slice(1).map(() => true)]), '');
  if (d.cells.some((c) => c.cell === 'decode-gen')) lines.push(`### ${GEN_TOKENS} tokens after a ${GEN_PROMPT}-token prompt`, '', markdownTable([...GEN_HEADER], genRows(d), [false, ...GEN_HEADER.slice(1).map(() => true)]), '');
  const notes = decodeNotMeasured(d);
  if (notes.length > 0) {
    lines.push('Decode cells not measured:', '');
    for (const n of notes) lines.push(`- ${n}`);
    lines.push('');
  }
  lines.push(
    '### Targets (issue 14)',
    '',
    `Linear growth: ratio <= ${LINEAR_RATIO_LIMIT} (2 for \`a + b * L\`, 10% for noise). Ratios to PyTorch use wall time; CPU-time ratios are given too, as they move less with the machine's load.`,
    '',
    markdownTable(['target', 'status', 'measured'], checkDecodeTargets(d).map((t) => [t.target, t.status, t.detail])),
    '',
  );
  return lines;
}
