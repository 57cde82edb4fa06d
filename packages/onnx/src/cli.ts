import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initWeights, isMhaError, randomTensor, referenceForward, resolveConfig, type MhaConfig, type MhaWeights, type ResolvedMhaConfig, type Tensor } from '@mha/core';
import { exportAttentionOp, type MaskSpec } from './core-op.js';
import { exportOnnx, type OnnxFlavour } from './export.js';
import { readModuleFixture } from './fixture-file.js';
import { MODULE_NAMES } from './names.js';
import { readModel, type OnnxValueInfo } from './read.js';
import { writeTensorProto } from './write.js';

const USAGE = `mha-onnx: export multi-head attention as a standard ONNX model

  mha-onnx export --fixture <file.json> --out <model.onnx> [options]
      the module of a golden fixture (mha-fixture/1), PyTorch weights converted
  mha-onnx export --config <json or file> [--seed <n>] --out <model.onnx> [options]
      a module with deterministic weights (initWeights(config, seed), seed default 0)
  mha-onnx export-core-op --out <model.onnx> [--causal] [--scale <s>] [--softcap <c>]
                          [--mask bool:<rank>|additive:<rank>] [--weights] [--flavour ...]
      the attention core op alone (inputs q, k, v [, attn_mask]; every dim symbolic)
  mha-onnx inspect <model.onnx>
      print opset, inputs, outputs, operators and metadata of any ONNX model

export options:
  --flavour <name>      decomposed (default; primitive ops, opset 17) or attention-op (ONNX Attention, opset 23)
  --opset <n>           decomposed only: 13..17
  --attention-weights   add the attention_weights output [batch, heads, tokens, tokens]
  --test-data <dir>     also write <dir>/test_data_set_0/input_0.pb and output_0.pb (output_1.pb with
                        --attention-weights) in ONNX's test-data layout: the fixture's input and PyTorch's
                        outputs, or for --config a seeded input and @mha/core's float64 reference
  --batch <n>, --tokens <n>   shape of the seeded test input for --config (default 2 and 8)
  -h, --help            this text

exit status: 0 on success, 1 on an error, 2 on a usage error`;

class UsageError extends Error {}

function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
}

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${value}'`);
  return n;
}

function flavourOf(value: string | undefined): OnnxFlavour {
  if (value === undefined) return 'decomposed';
  if (value !== 'decomposed' && value !== 'attention-op') throw new UsageError(`--flavour must be decomposed or attention-op, got '${value}'`);
  return value;
}

function configFrom(text: string): MhaConfig {
  const source = text.trimStart().startsWith('{') ? text : readFileSync(text, 'utf8');
  try {
    return JSON.parse(source) as MhaConfig;
  } catch (e) {
    throw new UsageError(`--config is neither JSON nor a readable JSON file: ${(e as Error).message}`);
  }
}

function writeTestData(dir: string, x: Tensor, outputs: Tensor[]): string {
  const set = join(dir, 'test_data_set_0');
  mkdirSync(set, { recursive: true });
  writeFileSync(join(set, 'input_0.pb'), writeTensorProto({ name: MODULE_NAMES.input, dims: x.shape, data: x.data }));
  const names = [MODULE_NAMES.output, MODULE_NAMES.attentionWeights];
  outputs.forEach((t, i) => writeFileSync(join(set, `output_${i}.pb`), writeTensorProto({ name: names[i]!, dims: t.shape, data: t.data })));
  return set;
}

function formatIo(v: OnnxValueInfo): string {
  return `${v.name} [${v.dims ? v.dims.map((d) => d ?? '?').join(', ') : '?'}]`;
}

async function exportModule(argv: string[], log: (s: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      fixture: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      flavour: { type: 'string' },
      opset: { type: 'string' },
      'attention-weights': { type: 'boolean', default: false },
      'test-data': { type: 'string' },
      batch: { type: 'string' },
      tokens: { type: 'string' },
    },
    strict: true,
  });
  if (!values.out) throw new UsageError('--out <model.onnx> is required');
  if ((values.fixture === undefined) === (values.config === undefined)) throw new UsageError('give exactly one of --fixture or --config');
  let config: ResolvedMhaConfig;
  let weights: MhaWeights;
  let sample: () => { x: Tensor; outputs: Tensor[] };
  const withWeights = values['attention-weights'];
  if (values.fixture !== undefined) {
    const f = readModuleFixture(values.fixture);
    ({ config, weights } = f);
    sample = () => {
      if (withWeights && !f.attentionWeights) throw new UsageError('the fixture has no expected attention weights');
      return { x: f.x, outputs: withWeights ? [f.output, f.attentionWeights!] : [f.output] };
    };
  } else {
    config = resolveConfig(configFrom(values.config!));
    const seed = int(values.seed, 'seed', 0);
    weights = initWeights(config, seed);
    sample = () => {
      const x = randomTensor([int(values.batch, 'batch', 2), int(values.tokens, 'tokens', 8), config.dIn], seed + 1);
      const ref = referenceForward(config, weights, x);
      const outputs = [{ data: Float32Array.from(ref.output.data), shape: ref.output.shape }];
      if (withWeights) outputs.push({ data: Float32Array.from(ref.attentionWeights.data), shape: ref.attentionWeights.shape });
      return { x, outputs };
    };
  }
  const flavour = flavourOf(values.flavour);
  const bytes = exportOnnx(config, weights, { flavour, opset: values.opset === undefined ? undefined : int(values.opset, 'opset', 0), attentionWeights: withWeights });
  writeFileSync(values.out, bytes);
  const m = readModel(bytes);
  log(`wrote ${values.out}: ${flavour}, opset ${m.opset}, ${bytes.byteLength} bytes; ${m.graph.inputs.map(formatIo).join(', ')} -> ${m.graph.outputs.map(formatIo).join(', ')}`);
  if (values['test-data'] !== undefined) {
    const { x, outputs } = sample();
    log(`wrote test data to ${writeTestData(values['test-data'], x, outputs)}`);
  }
  return 0;
}

function maskOf(value: string | undefined): MaskSpec | undefined {
  if (value === undefined) return undefined;
  const [kind, rank] = value.split(':');
  if ((kind !== 'bool' && kind !== 'additive') || !['2', '3', '4'].includes(rank ?? '')) throw new UsageError(`--mask must be bool:<2..4> or additive:<2..4>, got '${value}'`);
  return { kind, rank: Number(rank) as MaskSpec['rank'] };
}

async function exportCoreOp(argv: string[], log: (s: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      flavour: { type: 'string' },
      opset: { type: 'string' },
      causal: { type: 'boolean', default: false },
      scale: { type: 'string' },
      softcap: { type: 'string' },
      mask: { type: 'string' },
      weights: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.out) throw new UsageError('--out <model.onnx> is required');
  const bytes = exportAttentionOp({
    flavour: flavourOf(values.flavour),
    opset: values.opset === undefined ? undefined : int(values.opset, 'opset', 0),
    causal: values.causal,
    scale: num(values.scale, 'scale'),
    softcap: num(values.softcap, 'softcap'),
    mask: maskOf(values.mask),
    weights: values.weights,
  });
  writeFileSync(values.out, bytes);
  const m = readModel(bytes);
  log(`wrote ${values.out}: opset ${m.opset}, ${m.graph.inputs.map(formatIo).join(', ')} -> ${m.graph.outputs.map(formatIo).join(', ')}`);
  return 0;
}

function inspect(argv: string[], log: (s: string) => void): number {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('inspect takes one model file');
  const m = readModel(readFileSync(positionals[0]!));
  const counts = new Map<string, number>();
  for (const n of m.graph.nodes) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  log(`ir_version ${m.irVersion}, opsets ${m.opsetImport.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(' ')}, producer ${m.producerName || '?'}`);
  log(`inputs:  ${m.graph.inputs.map(formatIo).join(', ')}`);
  log(`outputs: ${m.graph.outputs.map(formatIo).join(', ')}`);
  log(`nodes:   ${m.graph.nodes.length} (${[...counts].map(([op, c]) => `${op} x${c}`).join(', ')}), ${m.graph.initializers.length} initializers`);
  for (const [k, v] of Object.entries(m.metadata)) log(`meta:    ${k} = ${v}`);
  return 0;
}

/**
 * The `mha-onnx` command line. Returns the exit status instead of exiting, so tests can call it.
 *
 * @example
 * await main(['export', '--config', '{"dIn":8,"dOut":8,"heads":2,"causal":true}', '--seed', '1', '--out', 'mha.onnx']);
 */
export async function main(argv: readonly string[], log: (s: string) => void = console.log, error: (s: string) => void = console.error): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'export':
        return await exportModule(rest, log);
      case 'export-core-op':
        return await exportCoreOp(rest, log);
      case 'inspect':
        return inspect(rest, log);
      case undefined:
      case '-h':
      case '--help':
        log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      error(`${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    error(isMhaError(e) ? e.message : `error: ${(e as Error).message}`);
    return 1;
  }
}
