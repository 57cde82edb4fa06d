import type { KernelForwardResult, ModuleKernel, MhaWeights, ResolvedMhaConfig, ShapeTrace, ValidInput } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import { activate, assertActive } from './activate.js';
import { attendHeads } from './attention-heads.js';
import { CausalBiasCache } from './causal-bias.js';
import { exclusive } from './exclusive.js';
import { packWeights, uploadWeights, weightTensorList, type WeightTensors } from './module-weights.js';
import type { ResolvedTfjsBackendOptions } from './options.js';
import { readFloat32 } from './read.js';

/** `x @ w (+ b)` as one 2-D matmul, with the bias fused into it where the backend can. */
function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined): tf.Tensor2D {
  return b === undefined ? tf.matMul(x, w) : (tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D);
}

interface ForwardTensors {
  readonly output: tf.Tensor;
  readonly weights: tf.Tensor | undefined;
  readonly trace: ShapeTrace;
}

/**
 * The forward graph, issued synchronously on the active backend (call inside `tf.tidy`):
 * `[B*T, dIn] @ [dIn, 3*dOut]` -> `[B, T, 3, H, dh]` -> q, k, v `[B, H, T, dh]` -> per-head attention
 * -> merged `[B*T, dOut]` -> `@ Wo + bo`.
 */
function forwardGraph(cfg: ResolvedMhaConfig, w: WeightTensors, causal: CausalBiasCache, input: ValidInput, returnWeights: boolean, layout: ResolvedTfjsBackendOptions['attentionLayout']): ForwardTensors {
  const { batch: B, tokens: T } = input;
  const { dIn, heads: H, headDim: dh } = cfg;
  const x = tf.tensor2d(input.x, [B * T, dIn]);
  const qkv = tf.reshape(linear(x, w.wqkv, w.bqkv), [B, T, 3, H, dh]);
  const [q, k, v] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const heads = attendHeads({
    q,
    k,
    v,
    bias: cfg.causal ? tf.reshape(causal.get(T), [1, 1, T, T]) : undefined,
    softcap: 0,
    // Causal rows always keep key 0 and non-causal rows keep every key: no row is ever empty.
    mayHaveEmptyRows: false,
    returnWeights,
    layout,
  });
  const merged = heads.merged();
  const output = w.wo === undefined ? merged : linear(merged, w.wo, w.bo);
  const trace: ShapeTrace = [
    { step: 'input', shape: [B, T, dIn] },
    { step: 'qkv', shape: qkv.shape },
    { step: 'q', shape: q.shape },
    { step: 'k', shape: k.shape },
    { step: 'v', shape: v.shape },
    { step: 'scores', shape: heads.scoresShape },
    { step: 'weights', shape: heads.weightsShape },
    { step: 'context', shape: heads.contextShape },
    { step: 'merged', shape: [B, T, merged.shape[1]] },
    { step: 'output', shape: [B, T, output.shape[1]] },
  ];
  return { output, weights: heads.weights, trace };
}

/**
 * Builds a module kernel: packs and uploads the weights once, on the module's tfjs backend. Every
 * forward runs in the process-wide queue, re-activates that backend, issues the whole graph inside
 * `tf.tidy` and frees what it read back, so a forward leaves no tensor behind.
 */
export async function createModuleKernel(cfg: ResolvedMhaConfig, weights: Readonly<MhaWeights>, options: ResolvedTfjsBackendOptions): Promise<ModuleKernel> {
  const name = options.tfBackend;
  const packed = packWeights(cfg, weights);
  const causal = new CausalBiasCache();
  const w = await exclusive(async () => {
    await activate(options);
    assertActive(name);
    return uploadWeights(cfg, packed);
  });
  return {
    forward(input, opts): Promise<KernelForwardResult> {
      return exclusive(async () => {
        await activate(options);
        assertActive(name);
        let trace: ShapeTrace = [];
        const tensors = tf.tidy(() => {
          const f = forwardGraph(cfg, w, causal, input, opts.returnAttentionWeights, options.attentionLayout);
          trace = f.trace;
          return f.weights === undefined ? [f.output] : [f.output, f.weights];
        });
        try {
          const [output, attentionWeights] = await Promise.all(tensors.map(readFloat32));
          return { output: output!, attentionWeights, trace: opts.trace ? trace : undefined };
        } finally {
          for (const t of tensors) t.dispose();
        }
      });
    },
    dispose(): Promise<void> {
      // Queued behind any forward still in flight, which keeps using the weights until it finishes.
      return exclusive(async () => {
        for (const t of weightTensorList(w)) t.dispose();
        causal.dispose();
      });
    },
  };
}
