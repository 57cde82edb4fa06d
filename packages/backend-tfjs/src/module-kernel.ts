import type { KernelForwardResult, ModuleKernel, MhaWeights, ProjectionKernel, ResolvedMhaConfig, ShapeTrace, TraceEntry, ValidInput } from '@mha/core';
import * as tf from '@tensorflow/tfjs-core';
import { activate, assertActive } from './activate.js';
import { attendHeads, attendPerHead, prefersTransposedKeys, type HeadsOutput, type ScoreOptions } from './attention-heads.js';
import { CausalBiasCache } from './causal-bias.js';
import { exclusive } from './exclusive.js';
import { uploadWeights, weightTensorList, type WeightTensors } from './module-weights.js';
import type { ResolvedTfjsBackendOptions } from './options.js';
import { readFloat32 } from './read.js';

/** `x @ w (+ b)` as one 2-D matmul, with the bias fused into it where the backend can. */
function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined): tf.Tensor2D {
  return b === undefined ? tf.matMul(x, w) : (tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D);
}

/** `[B*T, d]` rows split per batch into `B` pieces `[T, d]` (contiguous, so cheap), optionally transposed. */
function perBatch(t: tf.Tensor2D, B: number, transpose: boolean): tf.Tensor2D[] {
  const pieces = B === 1 ? [t] : (tf.unstack(tf.reshape(t, [B, t.shape[0] / B, t.shape[1]])) as tf.Tensor2D[]);
  return transpose ? pieces.map((p) => tf.transpose(p)) : pieces;
}

/** The trace entries from `q` to `output`, from the shapes of the buffers actually used. */
type ProjectionTrace = [TraceEntry, TraceEntry, TraceEntry, TraceEntry];

/**
 * Per-head layout: each head's q, k, v projected by its own 2-D matmul over all `B*T` rows, then split
 * per batch (row blocks, contiguous). K is transposed per piece where the backend wants K^T.
 */
function projectPerHead(cfg: ResolvedMhaConfig, w: Extract<WeightTensors, { kind: 'per-head' }>, x: tf.Tensor2D, B: number, kTransposed: boolean, o: ScoreOptions): [HeadsOutput, ProjectionTrace] {
  const H = cfg.heads;
  const q: tf.Tensor2D[] = new Array<tf.Tensor2D>(B * H);
  const k: tf.Tensor2D[] = new Array<tf.Tensor2D>(B * H);
  const v: tf.Tensor2D[] = new Array<tf.Tensor2D>(B * H);
  for (let h = 0; h < H; h++) {
    const qs = perBatch(linear(x, w.wq[h]!, w.bq?.[h]), B, false);
    const ks = perBatch(linear(x, w.wk[h]!, w.bk?.[h]), B, kTransposed);
    const vs = perBatch(linear(x, w.wv[h]!, w.bv?.[h]), B, false);
    for (let b = 0; b < B; b++) {
      q[b * H + h] = qs[b]!;
      k[b * H + h] = ks[b]!;
      v[b * H + h] = vs[b]!;
    }
  }
  const [T, dh] = q[0]!.shape;
  const kShape = kTransposed ? [k[0]!.shape[1], k[0]!.shape[0]] : k[0]!.shape;
  const trace: ProjectionTrace = [
    // The logical [B, T, 3, H, dh] view of the 3 * H projections.
    { step: 'qkv', shape: [B, T, 3, H, dh] },
    { step: 'q', shape: [B, H, T, dh] },
    { step: 'k', shape: [B, H, ...kShape] },
    { step: 'v', shape: [B, H, ...v[0]!.shape] },
  ];
  return [attendPerHead({ batch: B, qHeads: H, kvHeads: H, q, k, kTransposed, v }, o), trace];
}

/** Batched layout: one fused `[B*T, dIn] @ [dIn, 3*dOut]` projection, one transpose to `[3, B, H, T, dh]`. */
function projectFused(cfg: ResolvedMhaConfig, w: Extract<WeightTensors, { kind: 'fused' }>, x: tf.Tensor2D, B: number, o: ScoreOptions, options: ResolvedTfjsBackendOptions): [HeadsOutput, ProjectionTrace] {
  const T = x.shape[0] / B;
  const qkv = tf.reshape(linear(x, w.wqkv, w.bqkv), [B, T, 3, cfg.heads, cfg.headDim]);
  const [q, k, v] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const trace: ProjectionTrace = [
    { step: 'qkv', shape: qkv.shape },
    { step: 'q', shape: q.shape },
    { step: 'k', shape: k.shape },
    { step: 'v', shape: v.shape },
  ];
  return [attendHeads({ q, k, v }, o, options.attentionLayout, options.tfBackend), trace];
}

/**
 * The forward graph, issued synchronously on the active backend (call inside `tf.tidy`): project q, k, v
 * with 2-D matmuls, attend per head (causal bias cached per T), merge heads to `[B*T, dOut]`, `@ Wo + bo`.
 */
function forwardGraph(cfg: ResolvedMhaConfig, w: WeightTensors, causal: CausalBiasCache, input: ValidInput, returnWeights: boolean, options: ResolvedTfjsBackendOptions) {
  const { batch: B, tokens: T } = input;
  const x = tf.tensor2d(input.x, [B * T, cfg.dIn]);
  const scoreOptions: ScoreOptions = {
    bias: cfg.causal ? tf.reshape(causal.get(T), [1, 1, T, T]) : undefined,
    softcap: 0,
    // Causal rows always keep key 0 and non-causal rows keep every key: no row is ever empty.
    mayHaveEmptyRows: false,
    returnWeights,
  };
  const [heads, projections] =
    w.kind === 'per-head' ? projectPerHead(cfg, w, x, B, prefersTransposedKeys(options.tfBackend), scoreOptions) : projectFused(cfg, w, x, B, scoreOptions, options);
  const merged = heads.merged();
  const output = w.wo === undefined ? merged : linear(merged, w.wo, w.bo);
  const trace: ShapeTrace = [
    { step: 'input', shape: [B, T, cfg.dIn] },
    ...projections,
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
  const causal = new CausalBiasCache();
  const w = await exclusive(async () => {
    await activate(options);
    assertActive(name);
    return uploadWeights(cfg, weights, options.attentionLayout);
  });
  return {
    forward(input, opts): Promise<KernelForwardResult> {
      return exclusive(async () => {
        await activate(options);
        assertActive(name);
        let trace: ShapeTrace = [];
        const tensors = tf.tidy(() => {
          const f = forwardGraph(cfg, w, causal, input, opts.returnAttentionWeights, options);
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

/**
 * The backend's native projection `y = x W + b` (core's `createProjection` hook, for lowered module calls):
 * `W` and `b` uploaded once on the module's tfjs backend, then per call one (fused) `tf.matMul` in the
 * process-wide queue, like a forward. Nothing is left behind: the input and result tensors are freed once read.
 */
export async function createProjection(inW: number, n: number, w: Float32Array, b: Float32Array | undefined, options: ResolvedTfjsBackendOptions): Promise<ProjectionKernel> {
  const name = options.tfBackend;
  const [wt, bt] = await exclusive(async () => {
    await activate(options);
    assertActive(name);
    const weight = tf.tensor2d(w, [inW, n]);
    try {
      return [weight, b && tf.tensor1d(b)] as const;
    } catch (e) {
      weight.dispose();
      throw e;
    }
  });
  return {
    project(x, rows) {
      return exclusive(async () => {
        await activate(options);
        assertActive(name);
        const y = tf.tidy(() => linear(tf.tensor2d(x, [rows, inW]), wt, bt));
        try {
          return await readFloat32(y);
        } finally {
          y.dispose();
        }
      });
    },
    dispose() {
      // Queued behind any projection still in flight.
      return exclusive(async () => {
        wt.dispose();
        bt?.dispose();
      });
    },
  };
}
