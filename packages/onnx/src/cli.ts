import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initWeights, isMhaError, randomTensor, referenceForward, resolveConfig, seededRandom, type AttentionMask, type MhaConfig, type MhaWeights, type ResolvedMhaConfig, type Tensor } from '@mha/core';
import { exportAttentionOp, type MaskSpec } from './core-op.js';
import { exportOnnx, type ExportOptions, type OnnxFlavour } from './export.js';
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
  --opset <n>           decomposed: 13..17; attention-op: 23..24
  --attention-weights   add the attention_weights output [batch, heads, tokens, kv_tokens]
  --cross               key [batch, kv_tokens, kdim] and value [batch, kv_tokens, vdim] inputs
                        (cross-attention; implied when the config's kdim or vdim differs from dIn)
  --mask bool:<rank>|additive:<rank>
                        attn_mask input (rank 2..4, broadcast to [batch, heads, tokens, kv_tokens];
                        bool: true = attend)
  --key-padding-mask bool|additive
                        key_padding_mask input [batch, kv_tokens] (bool: true = a real key)
  --causal-align top-left|bottom-right
                        causal alignment of a cross-attention graph (default top-left)
  --past                a decoder step: past_key/past_value inputs [batch, kvHeads, past_tokens, headDim],
                        present_key/present_value outputs, bottom-right causal (causal configs)
  --test-data <dir>     also write <dir>/test_data_set_0/input_<i>.pb and output_<i>.pb in ONNX's
                        test-data layout, in graph order: the fixture's input and PyTorch's outputs, or for
                        --config seeded inputs and @mha/core's float64 reference
  --batch <n>, --tokens <n>   shape of the seeded test input for --config (default 2 and 8)
  --kv-tokens <n>       key/value tokens of the seeded cross-attention input (default --tokens)
  --past-tokens <n>     past tokens of the seeded decoder-step input (default 3)
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

/** A named tensor of ONNX test data (bool masks as a `Uint8Array` of 0/1). */
interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint8Array;
}

function writeTestData(dir: string, inputs: NamedTensor[], outputs: NamedTensor[]): string {
  const set = join(dir, 'test_data_set_0');
  mkdirSync(set, { recursive: true });
  // A Uint8Array is written as ONNX bool.
  const write = (file: string, t: NamedTensor) => writeFileSync(join(set, file), writeTensorProto({ name: t.name, dims: t.shape, data: t.data }));
  inputs.forEach((t, i) => write(`input_${i}.pb`, t));
  outputs.forEach((t, i) => write(`output_${i}.pb`, t));
  return set;
}

const named = (name: string, t: { data: ArrayLike<number>; shape: readonly number[] }): NamedTensor => ({ name, shape: [...t.shape], data: Float32Array.from(t.data) });

function seededMask(kind: 'bool' | 'additive', shape: number[], seed: number): AttentionMask {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  if (kind === 'bool') return { kind, data: Uint8Array.from({ length: n }, () => (rand() < 0.25 ? 0 : 1)), shape };
  return { kind, data: Float32Array.from({ length: n }, () => (rand() < 0.2 ? -Infinity : rand() * 4 - 2)), shape };
}

const maskTensor = (name: string, m: AttentionMask): NamedTensor => ({ name, shape: m.shape, data: m.kind === 'bool' ? Uint8Array.from(m.data) : Float32Array.from(m.data) });

/**
 * Seeded inputs for every input of the graph `options` describe, and the float64 reference's outputs.
 * A decoder step's past is the keys/values of `past_tokens` seeded tokens, so the expected output is the
 * causal forward's last rows over past + new tokens (and present_key/value its K/V).
 */
function seededSample(config: ResolvedMhaConfig, weights: MhaWeights, options: ExportOptions, dims: { batch: number; tokens: number; kvTokens: number; pastTokens: number }, seed: number): { inputs: NamedTensor[]; outputs: NamedTensor[] } {
  const N = MODULE_NAMES;
  const { batch: B, tokens: T } = dims;
  const f32 = (data: ArrayLike<number>, shape: number[]) => ({ data: Float32Array.from(data), shape });
  if (options.past) {
    const { kvHeads: Hkv, headDim: dh, dOut } = config;
    const P = dims.pastTokens;
    const x = randomTensor([B, P + T, config.dIn], seed + 1);
    const ref = referenceForward(config, weights, x);
    const slice = (data: Float64Array, rows: number, width: number, from: number, to: number, outer: number) => {
      const out = new Float64Array(outer * (to - from) * width);
      for (let o = 0; o < outer; o++) out.set(data.subarray((o * rows + from) * width, (o * rows + to) * width), o * (to - from) * width);
      return out;
    };
    return {
      inputs: [
        named(N.input, f32(slice(Float64Array.from(x.data), P + T, config.dIn, P, P + T, B), [B, T, config.dIn])),
        named(N.pastKey, f32(slice(ref.intermediates.k, P + T, dh, 0, P, B * Hkv), [B, Hkv, P, dh])),
        named(N.pastValue, f32(slice(ref.intermediates.v, P + T, dh, 0, P, B * Hkv), [B, Hkv, P, dh])),
      ],
      outputs: [
        named(N.output, f32(slice(ref.output.data, P + T, dOut, P, P + T, B), [B, T, dOut])),
        named(N.presentKey, f32(ref.intermediates.k, [B, Hkv, P + T, dh])),
        named(N.presentValue, f32(ref.intermediates.v, [B, Hkv, P + T, dh])),
      ],
    };
  }
  const cross = options.crossAttention ?? (config.kdim !== config.dIn || config.vdim !== config.dIn);
  const Tk = cross ? dims.kvTokens : T;
  const x = randomTensor([B, T, config.dIn], seed + 1);
  const inputs = [named(N.input, x)];
  const forward: Parameters<typeof referenceForward>[3] & Record<string, unknown> = {};
  if (cross) {
    forward.key = randomTensor([B, Tk, config.kdim], seed + 2);
    forward.value = randomTensor([B, Tk, config.vdim], seed + 3);
    inputs.push(named(N.key, forward.key), named(N.value, forward.value));
    forward.causalAlign = options.causalAlign;
  }
  if (options.mask) {
    forward.mask = seededMask(options.mask.kind, [B, config.heads, T, Tk].slice(4 - options.mask.rank), seed + 4);
    inputs.push(maskTensor(N.mask, forward.mask));
  }
  if (options.keyPaddingMask) {
    forward.keyPaddingMask = seededMask(options.keyPaddingMask, [B, Tk], seed + 5);
    inputs.push(maskTensor(N.keyPaddingMask, forward.keyPaddingMask));
  }
  const ref = referenceForward(config, weights, x, forward);
  const outputs = [named(N.output, ref.output)];
  if (options.attentionWeights) outputs.push(named(N.attentionWeights, ref.attentionWeights));
  return { inputs, outputs };
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
      'kv-tokens': { type: 'string' },
      'past-tokens': { type: 'string' },
      cross: { type: 'boolean' },
      mask: { type: 'string' },
      'key-padding-mask': { type: 'string' },
      'causal-align': { type: 'string' },
      past: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.out) throw new UsageError('--out <model.onnx> is required');
  if ((values.fixture === undefined) === (values.config === undefined)) throw new UsageError('give exactly one of --fixture or --config');
  const kpm = values['key-padding-mask'];
  if (kpm !== undefined && kpm !== 'bool' && kpm !== 'additive') throw new UsageError(`--key-padding-mask must be bool or additive, got '${kpm}'`);
  const align = values['causal-align'];
  if (align !== undefined && align !== 'top-left' && align !== 'bottom-right') throw new UsageError(`--causal-align must be top-left or bottom-right, got '${align}'`);
  const withWeights = values['attention-weights'];
  const options: ExportOptions = {
    flavour: flavourOf(values.flavour),
    opset: values.opset === undefined ? undefined : int(values.opset, 'opset', 0),
    attentionWeights: withWeights,
    ...(values.cross ? { crossAttention: true } : {}),
    ...(values.mask !== undefined ? { mask: maskOf(values.mask) } : {}),
    ...(kpm !== undefined ? { keyPaddingMask: kpm } : {}),
    ...(align !== undefined ? { causalAlign: align } : {}),
    ...(values.past ? { past: true } : {}),
  };
  let config: ResolvedMhaConfig;
  let weights: MhaWeights;
  let sample: () => { inputs: NamedTensor[]; outputs: NamedTensor[] };
  if (values.fixture !== undefined) {
    const f = readModuleFixture(values.fixture);
    ({ config, weights } = f);
    sample = () => {
      if (values.cross || values.mask !== undefined || kpm !== undefined || values.past) throw new UsageError('--test-data from a fixture covers its plain self-attention call: use --config for key/value, mask or past inputs');
      if (withWeights && !f.attentionWeights) throw new UsageError('the fixture has no expected attention weights');
      const outputs = [named(MODULE_NAMES.output, f.output)];
      if (withWeights) outputs.push(named(MODULE_NAMES.attentionWeights, f.attentionWeights!));
      return { inputs: [named(MODULE_NAMES.input, f.x)], outputs };
    };
  } else {
    config = resolveConfig(configFrom(values.config!));
    const seed = int(values.seed, 'seed', 0);
    weights = initWeights(config, seed);
    const tokens = int(values.tokens, 'tokens', 8);
    const dims = { batch: int(values.batch, 'batch', 2), tokens, kvTokens: int(values['kv-tokens'], 'kv-tokens', tokens), pastTokens: int(values['past-tokens'], 'past-tokens', 3) };
    sample = () => seededSample(config, weights, options, dims, seed);
  }
  const { flavour } = options;
  const bytes = exportOnnx(config, weights, options);
  writeFileSync(values.out, bytes);
  const m = readModel(bytes);
  log(`wrote ${values.out}: ${flavour}, opset ${m.opset}, ${bytes.byteLength} bytes; ${m.graph.inputs.map(formatIo).join(', ')} -> ${m.graph.outputs.map(formatIo).join(', ')}`);
  if (values['test-data'] !== undefined) {
    const { inputs, outputs } = sample();
    log(`wrote test data to ${writeTestData(values['test-data'], inputs, outputs)}`);
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
