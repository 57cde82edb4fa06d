#!/usr/bin/env node
/**
 * `pnpm bench`: every MHA backend of the repository on the named shapes, one child process per cell.
 * Prints a table and the issue-8 targets; writes JSON (`--json`), BENCHMARKS.md (`--markdown`), and
 * compares with an earlier JSON (`--compare`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compareResults, comparisonRows, geomeanByBackend } from './compare.js';
import { DECODE_CELLS, DECODE_CONFIG } from './decode-cells.js';
import { checkDecodeTargets, decodeNotMeasured, GEN_HEADER, genRows, stepHeader, stepLengths, stepRows, torchProvenance } from './decode-report.js';
import { isTemplateModule, repoBackendModules, repoRoot } from './discover.js';
import { shapeFlops } from './flops.js';
import { fmtFlops, fmtMs, fmtNum, textTable } from './format.js';
import { currentLoad, machineInfo } from './machine.js';
import { renderMarkdown } from './markdown.js';
import { mergeResults, parseResults, RESULTS_FORMAT, type BenchResults, type CellResult, type DecodeCellResult, type DecodeRun } from './results.js';
import { ROW_HEADER, notMeasured, resultRows } from './rows.js';
import { listBackends, runBench, runDecode, type BackendRef } from './run.js';
import { DEFAULT_POLICY, type SamplingPolicy } from './sampling.js';
import { selectShapes } from './selection.js';
import { SHAPES, type BenchShape } from './shapes.js';
import { checkTargets } from './targets.js';
import { committedTorchAnchor, runTorchAnchor } from './torch-anchor.js';

const ORT_1T_MODULE = join(dirname(fileURLToPath(import.meta.url)), 'ort-single-thread.js');

const USAGE = `mha-bench: benchmark MHA backends on named shapes (pnpm bench -- [options])

  --shapes <a,b>        only these shapes (${SHAPES.map((s) => s.name).join(', ')})
                        and decode cells (${DECODE_CELLS.map((c) => c.name).join(', ')}); repeatable
  --skip-decode         leave out the decode cells (by default they run after the shapes)
  --torch <python>      run PyTorch's decode anchor (scripts/decode-torch.py) with this Python in this
                        run, before the decode cells; without it the committed results/decode-torch.json
  --backend <module>    benchmark this module's backends (a path or package name) instead of the
                        repository's; repeatable; add --repo to run both
  --repo                with --backend: also run the repository's backends
  --only <name>         only the backend with this name (e.g. ts, tfjs-wasm, ort-attention-op); repeatable
  --include-template    also run examples/backend-template (a deliberately naive reference)
  --skip-ort-1t         leave out the single-threaded onnxruntime variants (ort-*-1t)
  --skip-ort-web        leave out ort-web (@mha/backend-onnxruntime/web: onnxruntime-web's wasm build, one thread)
  --force               also run cells the shapes skip by default (tfjs-cpu on long, non-ts on long-16k)
  --json <file>         write all results as JSON (${RESULTS_FORMAT})
  --markdown            write BENCHMARKS.md at the repository root
  --markdown-file <f>   write the Markdown report to <f> instead
  --note <text>         a note on the run's conditions (e.g. other jobs on the machine), kept in the
                        JSON and shown in BENCHMARKS.md's noise paragraph
  --compare <old.json>  print new/old median ratios per shape and backend against an earlier --json
  --results <file>      do not run: load results from an earlier --json (to render or compare them);
                        repeatable: one file's forward cells with another's decode cells
  --budget <ms>         timed phase per cell (default ${DEFAULT_POLICY.budgetMs})
  --min-samples <n>     timed calls per cell at least (default ${DEFAULT_POLICY.minSamples})
  --slow-threshold <ms> a cell whose first call takes this long is slow (default ${DEFAULT_POLICY.slowThresholdMs})
  --slow-samples <n>    timed calls of a slow cell (default ${DEFAULT_POLICY.slowMinSamples})
  --cell-timeout <s>    kill a cell after this long (default 600)
  --list                print the backends and shapes that would run, and exit
  -h, --help            this text

exit status: 0 when every cell that ran succeeded, 1 when a cell failed, 2 on a usage error`;

interface Args {
  shapes: string[];
  'skip-decode': boolean;
  torch?: string;
  backend: string[];
  repo: boolean;
  only: string[];
  'include-template': boolean;
  'skip-ort-1t': boolean;
  'skip-ort-web': boolean;
  force: boolean;
  json?: string;
  markdown: boolean;
  'markdown-file'?: string;
  note?: string;
  compare?: string;
  results: string[];
  budget?: string;
  'min-samples'?: string;
  'slow-threshold'?: string;
  'slow-samples'?: string;
  'cell-timeout'?: string;
  list: boolean;
  help: boolean;
}

function parse(argv: string[]): Args {
  // pnpm passes a literal "--" through when run as `pnpm bench -- --json x`.
  const args = argv.filter((a) => a !== '--');
  const { values } = parseArgs({
    args,
    options: {
      shapes: { type: 'string', multiple: true, default: [] },
      'skip-decode': { type: 'boolean', default: false },
      torch: { type: 'string' },
      backend: { type: 'string', multiple: true, default: [] },
      repo: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true, default: [] },
      'include-template': { type: 'boolean', default: false },
      'skip-ort-1t': { type: 'boolean', default: false },
      'skip-ort-web': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      json: { type: 'string' },
      markdown: { type: 'boolean', default: false },
      'markdown-file': { type: 'string' },
      note: { type: 'string' },
      compare: { type: 'string' },
      results: { type: 'string', multiple: true, default: [] },
      budget: { type: 'string' },
      'min-samples': { type: 'string' },
      'slow-threshold': { type: 'string' },
      'slow-samples': { type: 'string' },
      'cell-timeout': { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  return values as Args;
}

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${value}'`);
  return n;
}

function policyFrom(args: Args): SamplingPolicy {
  return {
    ...DEFAULT_POLICY,
    budgetMs: positive(args.budget, 'budget', DEFAULT_POLICY.budgetMs),
    minSamples: Math.max(1, Math.round(positive(args['min-samples'], 'min-samples', DEFAULT_POLICY.minSamples))),
    slowThresholdMs: positive(args['slow-threshold'], 'slow-threshold', DEFAULT_POLICY.slowThresholdMs),
    slowMinSamples: Math.max(1, Math.round(positive(args['slow-samples'], 'slow-samples', DEFAULT_POLICY.slowMinSamples))),
  };
}

/** The modules to benchmark: the repository's (template and ort-1t per flags) and/or --backend ones. */
function modulesFrom(args: Args): string[] {
  const specs: string[] = [...args.backend];
  if (args.backend.length === 0 || args.repo) {
    const repo = repoBackendModules().filter((m) => args['include-template'] || !isTemplateModule(m));
    specs.push(...repo.map((m) => m.module));
    if (!args['skip-ort-1t'] && repo.some((m) => m.packageName === '@mha/backend-onnxruntime')) specs.push(ORT_1T_MODULE);
  }
  return specs;
}

async function backendsFrom(args: Args): Promise<BackendRef[]> {
  const refs: BackendRef[] = [];
  for (const module of modulesFrom(args)) {
    for (const backend of await listBackends(module)) {
      if (refs.some((r) => r.backend === backend)) throw new Error(`two modules offer a backend named '${backend}'; use --only or --backend to choose`);
      refs.push({ module, backend });
    }
  }
  // ort-web comes with backend-onnxruntime's ./web module; the flag drops its row.
  if (args['skip-ort-web']) refs.splice(0, refs.length, ...refs.filter((r) => r.backend !== 'ort-web'));
  const unknown = args.only.filter((o) => !refs.some((r) => r.backend === o));
  if (unknown.length > 0) throw new Error(`--only ${unknown.join(', ')}: no such backend (found ${refs.map((r) => r.backend).join(', ')})`);
  return args.only.length > 0 ? refs.filter((r) => args.only.includes(r.backend)) : refs;
}

function progress(total: number, offset = 0): (event: 'start' | 'done', cell: { shape: string; backend: string }, result?: CellResult | DecodeCellResult) => void {
  let done = offset;
  let started = false;
  return (event, cell, result) => {
    if (event === 'start') {
      process.stderr.write(`[${done + 1}/${total}] ${cell.shape} / ${cell.backend} ...`);
      started = true;
      return;
    }
    done++;
    const wasStarted = started;
    started = false;
    if (result?.status === 'skipped') {
      // Forward cells skipped by policy never start; a decode cell learns it is unsupported by running.
      process.stderr.write(wasStarted ? ` skipped: ${result.reason ?? ''}\n` : `[${done}/${total}] ${cell.shape} / ${cell.backend}: skipped\n`);
    } else if (result?.status === 'ok' && result.measurement && 'kind' in result.measurement) {
      const m = result.measurement;
      process.stderr.write(m.kind === 'step' ? ` module step ${fmtMs(m.module[0].medianMs)} / ${fmtMs(m.module[1].medianMs)} ms (${m.rounds} rounds)\n` : ` ${fmtNum(m.module.tokensPerSecond)} tokens/s module, ${fmtNum(m.corePast.tokensPerSecond)} core\n`);
    } else if (result?.status === 'ok' && result.measurement && 'latency' in result.measurement) {
      const l = result.measurement.latency;
      process.stderr.write(` ${fmtMs(l.medianMs)} ms (n=${l.samples}, peak ${fmtNum(result.measurement.peakRssMiB)} MiB)\n`);
    } else {
      process.stderr.write(` FAILED: ${result?.reason ?? 'unknown'}\n`);
    }
  };
}

function printResults(results: BenchResults): void {
  if (results.cells.length > 0) {
    console.log(textTable([...ROW_HEADER], resultRows(results)));
    const notes = notMeasured(results);
    if (notes.length > 0) console.log(`\nnot measured:\n${notes.map((n) => `  ${n}`).join('\n')}`);
    console.log('');
    console.log(
      'FLOPs (multiply-add = 2): projections 2*B*T*dIn*dOut*3 + 2*B*T*dOut*dOut; attention full 4*B*H*T*T*dh, causal half 4*B*H*dh*T*(T+1)/2.',
    );
    for (const s of results.shapes) console.log(`  ${s.name}: ${s.description}; ${fmtFlops(s.flops.full)} full, ${fmtFlops(s.flops.half)} half`);
    console.log('');
    console.log(textTable(['target (issue 8)', 'status', 'measured'], checkTargets(results).map((t) => [t.target, t.status, t.detail])));
  }
  const d = results.decode;
  if (d) {
    console.log(`\ndecode cells (${d.startedAt}, load average ${d.loadAverageStart} -> ${d.loadAverageEnd ?? '?'}): one new token at gpt2-layer width`);
    if (d.cells.some((c) => c.cell === 'decode-step')) console.log(textTable(stepHeader(stepLengths(d)), stepRows(d)));
    if (d.cells.some((c) => c.cell === 'decode-gen')) console.log(`\n${textTable([...GEN_HEADER], genRows(d))}`);
    const notes = decodeNotMeasured(d);
    if (notes.length > 0) console.log(`\nnot measured:\n${notes.map((n) => `  ${n}`).join('\n')}`);
    console.log(d.torch ? `\n${torchProvenance(d.torch.source, d.torch.anchor)}` : '\nno PyTorch anchor (run scripts/decode-torch.py, or --torch <python>)');
    console.log('');
    console.log(textTable(['target (issue 14, decode)', 'status', 'measured'], checkDecodeTargets(d).map((t) => [t.target, t.status, t.detail])));
  }
}

function printComparison(oldRun: BenchResults, newRun: BenchResults, oldName: string): void {
  const comparisons = compareResults(oldRun, newRun);
  console.log('');
  if (comparisons.length === 0) {
    console.log(`compare: no (shape, backend) cell measured in both this run and ${oldName}`);
    return;
  }
  console.log(`compared with ${oldName} (${oldRun.startedAt}): new/old median, below 1 is faster`);
  const { header, rows } = comparisonRows(comparisons);
  console.log(textTable(header, rows));
  for (const [backend, g] of geomeanByBackend(comparisons)) console.log(`  ${backend}: geometric mean ${fmtNum(g.geomean)}x over ${g.shapes} shape(s)`);
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  let results: BenchResults;
  if (args.results.length > 0) {
    try {
      results = mergeResults(args.results.map((f) => parseResults(readFileSync(f, 'utf8'), f)));
    } catch (e) {
      console.error((e as Error).message);
      return 2;
    }
  } else {
    let selection: ReturnType<typeof selectShapes>;
    let policy: SamplingPolicy;
    let backends: BackendRef[];
    try {
      selection = selectShapes(args.shapes, args['skip-decode']);
      policy = policyFrom(args);
      backends = await backendsFrom(args);
    } catch (e) {
      console.error((e as Error).message);
      return 2;
    }
    const { shapes, decode } = selection;
    if (args.list) {
      for (const b of backends) console.log(`backend ${b.backend}  (${b.module})`);
      for (const s of shapes) console.log(`shape   ${s.name}  ${s.description}`);
      for (const c of decode) console.log(`decode  ${c.name}  ${c.description}`);
      return 0;
    }
    const machine = machineInfo();
    const startedAt = new Date().toISOString();
    const total = (shapes.length + decode.length) * backends.length;
    const cellTimeoutMs = positive(args['cell-timeout'], 'cell-timeout', 600) * 1000;
    const cells = await runBench({ backends, shapes, policy, force: args.force, cellTimeoutMs, onCell: progress(total) });
    let decodeRun: DecodeRun | undefined;
    if (decode.length > 0) {
      const decodeStartedAt = new Date().toISOString();
      const loadAverageStart = currentLoad();
      let torch: DecodeRun['torch'];
      try {
        if (args.torch) process.stderr.write(`PyTorch anchor: ${args.torch} scripts/decode-torch.py ...\n`);
        torch = args.torch ? runTorchAnchor(args.torch, cellTimeoutMs) : committedTorchAnchor();
      } catch (e) {
        // The cells still run; the report says there is no anchor.
        console.error(`PyTorch anchor left out: ${(e as Error).message}`);
      }
      const decodeCells = await runDecode({ backends, cells: decode, policy, cellTimeoutMs, onCell: progress(total, shapes.length * backends.length) });
      decodeRun = { startedAt: decodeStartedAt, loadAverageStart, loadAverageEnd: currentLoad(), config: DECODE_CONFIG, cells: decodeCells, torch };
    }
    machine.loadAverageEnd = currentLoad();
    results = {
      format: RESULTS_FORMAT,
      startedAt,
      machine,
      options: policy,
      shapes: shapes.map((s) => ({ name: s.name, description: s.description, batch: s.batch, tokens: s.tokens, config: s.config, flops: shapeFlops(s) })),
      cells,
      ...(decodeRun ? { decode: decodeRun } : {}),
    };
  }
  if (args.note !== undefined) results = { ...results, note: args.note };
  printResults(results);
  if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
  if (args.markdown || args['markdown-file']) {
    const file = args['markdown-file'] ?? join(repoRoot(), 'BENCHMARKS.md');
    writeFileSync(file, renderMarkdown(results));
    console.log(`\nwrote ${file}`);
  }
  if (args.compare) printComparison(parseResults(readFileSync(args.compare, 'utf8'), args.compare), results, args.compare);
  return [...results.cells, ...(results.decode?.cells ?? [])].some((c) => c.status === 'failed') ? 1 : 0;
}


process.exitCode = await main();
