import { MhaError, MhaErrorCode, type ResolvedMhaConfig, type ShapeTrace } from '@mha/core';
import { MODULE_NAMES, TRACE_OUTPUTS, type OnnxFlavour } from '@mha/onnx';

/** Dims of the tensors a traced run fetched, by graph output name. */
export type FetchedDims = Readonly<Record<string, readonly number[]>>;

function dimsOf(fetched: FetchedDims, name: string): number[] {
  const d = fetched[name];
  if (d === undefined) throw new MhaError(MhaErrorCode.BackendContract, 'trace', name, `onnxruntime returned no '${name}' output`);
  return [...d];
}

/** `[B, T, H*d]` -> `[B, H, T, d]`: how the `Attention` operator views a 3D input with `H` heads. */
function asHeads(dims: readonly number[], heads: number, what: string): number[] {
  const [b, t, width] = dims as [number, number, number];
  if (dims.length !== 3 || width % heads !== 0) throw new MhaError(MhaErrorCode.BackendContract, 'trace', dims, `${what} is not [batch, tokens, heads*d]`);
  return [b, heads, t, width / heads];
}

/**
 * The shape trace of a run, from the dims of the tensors onnxruntime actually produced. The
 * decomposed graph materialises every step. The `Attention` operator splits heads, computes scores
 * and merges heads internally, so for that flavour q/k/v/context are the op's per-head view of its
 * 3D tensors and `scores` is `[B, H, Tq, Tk]` of those views; `weights` is the op's own
 * `qk_matmul_output`.
 */
export function buildTrace(flavour: OnnxFlavour, config: ResolvedMhaConfig, input: readonly number[], fetched: FetchedDims): ShapeTrace {
  const T = TRACE_OUTPUTS;
  const weights = dimsOf(fetched, MODULE_NAMES.attentionWeights);
  const common = { merged: dimsOf(fetched, T.merged), output: dimsOf(fetched, MODULE_NAMES.output) };
  let steps: Omit<Record<ShapeTrace[number]['step'], number[]>, 'input' | 'weights' | 'merged' | 'output'>;
  if (flavour === 'decomposed') {
    steps = { qkv: dimsOf(fetched, T.qkv), q: dimsOf(fetched, T.q), k: dimsOf(fetched, T.k), v: dimsOf(fetched, T.v), scores: dimsOf(fetched, T.scores), context: dimsOf(fetched, T.context) };
  } else {
    const H = config.heads;
    const [b, t, width] = dimsOf(fetched, T.qkv) as [number, number, number];
    const q = asHeads(dimsOf(fetched, T.q), H, 'q');
    const k = asHeads(dimsOf(fetched, T.k), H, 'k');
    steps = { qkv: [b, t, 3, H, width / (3 * H)], q, k, v: asHeads(dimsOf(fetched, T.v), H, 'v'), scores: [q[0]!, H, q[2]!, k[2]!], context: asHeads(common.merged, H, 'the Attention output') };
  }
  return [
    { step: 'input', shape: [...input] },
    { step: 'qkv', shape: steps.qkv },
    { step: 'q', shape: steps.q },
    { step: 'k', shape: steps.k },
    { step: 'v', shape: steps.v },
    { step: 'scores', shape: steps.scores },
    { step: 'weights', shape: weights },
    { step: 'context', shape: steps.context },
    { step: 'merged', shape: common.merged },
    { step: 'output', shape: common.output },
  ];
}

/** The graph outputs a traced run fetches. */
export function traceFetches(flavour: OnnxFlavour): string[] {
  const T = TRACE_OUTPUTS;
  const own = flavour === 'decomposed' ? [T.qkv, T.q, T.k, T.v, T.scores, T.context, T.merged] : [T.qkv, T.q, T.k, T.v, T.merged];
  return [MODULE_NAMES.attentionWeights, ...own];
}
