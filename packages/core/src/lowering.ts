import type { AttentionMask } from './attention-options.js';
import { resolveConfig, type ResolvedMhaConfig } from './config.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { combinedMask, type ValidModuleCall } from './module-options.js';
import { scoreStage } from './attention-lowering.js';
import type { ValidAttention } from './validate.js';
import { validateWeights, type MhaWeights } from './weights.js';
import { requiredCapabilities, type BackendDefinition, type ProjectionKernel } from './backend.js';
import type { KvCache } from './kv-cache.js';
import { firstNonFinite } from './validate.js';

/** What a lowered module call returns, before core's size and finiteness checks. */
export interface LoweredResult {
  readonly output: Float32Array;
  /** `[B, heads, Tq, Tk]` per head, when asked for. */
  readonly weights: Float32Array | undefined;
}

/**
 * Core's lowering of the module features the kernel interface does not carry (cross-attention, `kdim`/`vdim`,
 * grouped-query heads, masks, bottom-right causal) onto what every backend already has, so each backend
 * computes all of the arithmetic itself:
 * - each projection `y = x W + b` runs on the backend's native projection (`createProjection`) when it has
 *   one, else on its own **module kernel**, built for a one-head, one-token module whose `wv = W`, `bv = b`
 *   and `wq = wk = 0`: with one key the softmax weight is exactly 1, so the kernel's output is exactly
 *   `x W + b` (the `B*T` rows are the batch, `T = 1`);
 * - the attention runs on the backend's **core op** (`attention`), with GQA, `Tq != Tk` and the combined
 *   mask (see `combinedMask`).
 * Core only moves data (split/merge heads) in between. Helper kernels are created on first use and
 * disposed with the module.
 */
export class ModuleLowering {
  private readonly kernels = new Map<string, Promise<ProjectionKernel>>();
  private readonly dKv: number;

  constructor(
    private readonly def: BackendDefinition,
    private readonly cfg: ResolvedMhaConfig,
    private readonly weights: Readonly<MhaWeights>,
    private readonly check: (field: string, a: Float32Array | undefined, expected: number) => Float32Array,
  ) {
    this.dKv = cfg.kvHeads * cfg.headDim;
  }

  private kernel(name: 'q' | 'k' | 'v' | 'o', inW: number, n: number, w: Float32Array, b: Float32Array | undefined): Promise<ProjectionKernel> {
    let k = this.kernels.get(name);
    if (!k) {
      k = this.def.createProjection ? Promise.resolve(this.def.createProjection(inW, n, w, b)) : oneKeyProjection(this.def, inW, n, w, b);
      this.kernels.set(name, k);
    }
    return k;
  }

  /** `[rows, inW] @ W [inW, n] + b` on the backend's projection (native, or its module kernel). */
  private async project(name: 'q' | 'k' | 'v' | 'o', x: Float32Array, rows: number, inW: number, n: number, w: Float32Array, b: Float32Array | undefined): Promise<Float32Array> {
    const kernel = await this.kernel(name, inW, n, w, b);
    return this.check(`output`, await kernel.project(x, rows), rows * n);
  }

  /** Runs one validated call whose inputs are already private (see `privateInputs`) and mask combined. */
  async forward(call: ValidModuleCall, combined: ReturnType<typeof combinedMask>): Promise<LoweredResult> {
    const { cfg, weights: w, dKv } = this;
    const { batch: B, tq, tk } = call;
    const { heads: H, kvHeads: Hkv, headDim: dh, dOut } = cfg;
    let context: Float32Array;
    let weights: Float32Array | undefined;
    if (tk === 0) {
      // No key: every query row is fully masked, so its context is zero (SPEC.md, "Empty inputs").
      context = new Float32Array(B * H * tq * dh);
      weights = call.returnWeights ? new Float32Array(0) : undefined;
    } else {
      const [q, k, v] = await Promise.all([
        this.project('q', call.x, B * tq, cfg.dIn, dOut, w.wq, w.bq),
        this.project('k', call.key, B * tk, cfg.kdim, dKv, w.wk, w.bk),
        this.project('v', call.value, B * tk, cfg.vdim, dKv, w.wv, w.bv),
      ]);
      this.checkProjections(q, k, v);
      const a = this.attentionCall(call, combined, q, split(k, B, tk, Hkv, dh), split(v, B, tk, Hkv, dh));
      ({ context, weights } = await this.attend(call, a));
    }
    return { output: await this.outputOf(context, B, tq), weights };
  }

  /** The core-op call of a lowered module call: q split into heads, the given k/v, the combined mask. */
  private attentionCall(call: ValidModuleCall, combined: ReturnType<typeof combinedMask>, q: Float32Array, k: Float32Array, v: Float32Array, kvRowsPerHead?: number): ValidAttention {
    const { cfg } = this;
    return {
      q: split(q, call.batch, call.tq, cfg.heads, cfg.headDim),
      k,
      v,
      ...(kvRowsPerHead !== undefined ? { kvRowsPerHead } : {}),
      batch: call.batch,
      qHeads: cfg.heads,
      kvHeads: cfg.kvHeads,
      tq: call.tq,
      tk: call.tk,
      dk: cfg.headDim,
      dv: cfg.headDim,
      causal: combined.causal,
      scale: cfg.scale,
      defaultScale: cfg.defaultScale,
      softcap: 0,
      mask: combined.mask,
      returnWeights: call.returnWeights,
    };
  }

  /** Heads merged back to `[B*Tq, dOut]`, then the output projection when the config has one. */
  private async outputOf(context: Float32Array, B: number, tq: number): Promise<Float32Array> {
    const { cfg, weights: w } = this;
    const merged = merge(context, B, tq, cfg.heads, cfg.headDim);
    return cfg.outProj ? this.project('o', merged, B * tq, cfg.dOut, cfg.dOut, w.wo!, w.bo) : merged;
  }

  /**
   * Finite inputs can project past the float32 range. A non-finite q/k/v is refused as MHA_OVERFLOW at `q[i]`
   * (`k[i]`, `v[i]`), in the layout `[B*T, width]` the projection wrote: handed on, a row of `-Infinity` scores
   * would read as a fully masked row and give zeros, a finite wrong answer the output check cannot see.
   */
  private checkProjections(q: Float32Array, k: Float32Array, v: Float32Array): void {
    for (const [name, p] of [['q', q], ['k', k], ['v', v]] as const) {
      const i = firstNonFinite(p);
      if (i >= 0) throw new MhaError(MhaErrorCode.Overflow, `${name}[${i}]`, p[i], `backend '${this.def.name}' projected a non-finite value from finite inputs`);
    }
  }

  /**
   * The core-op half of a lowered call: capability check, then the definition's own `attention` on `a`, built
   * by core from validated inputs and core's own projections (nothing to re-validate or copy). Score stages
   * before the softmax are core's (`scoreStage`), as for the public core op.
   */
  private async attend(call: ValidModuleCall, a: ValidAttention): Promise<{ context: Float32Array; weights: Float32Array | undefined }> {
    const stage = call.returnWeights && call.weightsStage !== 'softmax' ? call.weightsStage : undefined;
    const kernelCall = stage ? { ...a, returnWeights: false } : a;
    const missing = requiredCapabilities(kernelCall).filter((c) => !this.def.capabilities.includes(c));
    if (missing.length > 0) {
      throw new MhaError(MhaErrorCode.Unsupported, 'options', missing, `backend '${this.def.name}' lacks core-op capabilities ${missing.join(', ')} that this module call is lowered onto`);
    }
    const stageWeights = stage ? scoreStage(a, stage) : undefined;
    const r = await this.def.attention(kernelCall);
    const context = this.check('context', r.output, a.batch * a.qHeads * a.tq * a.dv);
    const weights = stageWeights ?? (call.returnWeights ? this.check('weights', r.weights, a.batch * a.qHeads * a.tq * a.tk) : undefined);
    return { context, weights };
  }

  /**
   * One decoding step `forward(x_new, { cache })` (`call.tk` = cached + new keys): projects only the new
   * tokens, appends their keys/values to the cache (during the call: the next call sees them; `forward` takes
   * them back if this one fails), and runs the definition's attention over the cached keys then the new ones
   * with bottom-right causal (offset = cache length), padding keys and the call's masks folded into one mask
   * (`combinedMask`); then heads are merged and projected out.
   */
  async forwardCached(call: ValidModuleCall, cache: KvCache): Promise<LoweredResult> {
    const { cfg, weights: w, dKv } = this;
    const { batch: B, tq, tk } = call;
    const { kvHeads: Hkv, headDim: dh, dOut } = cfg;
    const past = tk - tq;
    const [q, k, v] = await Promise.all([
      this.project('q', call.x, B * tq, cfg.dIn, dOut, w.wq, w.bq),
      this.project('k', call.x, B * tq, cfg.dIn, dKv, w.wk, w.bk),
      this.project('v', call.x, B * tq, cfg.dIn, dKv, w.wv, w.bv),
    ]);
    if (cache.length !== past) throw new MhaError(MhaErrorCode.InvalidOption, 'options.cache', cache.length, `another call changed the cache during this one (it held ${past} keys)`);
    // The cache never holds a non-finite key: a projection that overflowed is refused before it is appended.
    this.checkProjections(q, k, v);
    const kNew = split(k, B, tq, Hkv, dh);
    const vNew = split(v, B, tq, Hkv, dh);
    const keyValid = cache.keyValidity(call.newTokenValid, tq);
    const combined = combinedMask(cfg, call, keyValid);
    // A kernel that reads synchronously and honours kvRowsPerHead reads the cache in place (after the append
    // below); others get one contiguous gather. Score stages are computed by core from contiguous k.
    const inPlace = this.def.readsKvInPlace === true && this.def.readsInputsSynchronously === true && !(call.returnWeights && call.weightsStage !== 'softmax');
    const a = inPlace
      ? this.attentionCall(call, combined, q, cache.storage('keys'), cache.storage('values'), cache.capacity)
      : this.attentionCall(call, combined, q, cache.gather('keys', kNew, tq), cache.gather('values', vNew, tq));
    cache.appendChecked(kNew, vNew, tq, call.newTokenValid);
    const { context, weights } = await this.attend(call, a);
    return { output: await this.outputOf(context, B, tq), weights };
  }

  async dispose(): Promise<void> {
    const all = [...this.kernels.values()];
    this.kernels.clear();
    for (const k of await Promise.allSettled(all)) if (k.status === 'fulfilled') await k.value.dispose?.();
  }
}

/**
 * The fallback projection of a backend without `createProjection`: its module kernel for a one-head module
 * with `wv = W`, `bv = b`, `wq = wk = 0`, run on `rows` batches of one token (one key: softmax weight 1).
 */
function oneKeyProjection(def: BackendDefinition, inW: number, n: number, w: Float32Array, b: Float32Array | undefined): Promise<ProjectionKernel> {
  const cfg = resolveConfig({ dIn: inW, heads: 1, headDim: n, qkvBias: true, outProj: false });
  const zeros = new Float32Array(inW * n);
  const pw = validateWeights(cfg, { wq: zeros, wk: zeros, wv: w, bq: new Float32Array(n), bk: new Float32Array(n), bv: b ?? new Float32Array(n) });
  return Promise.resolve(def.createKernel(cfg, pw)).then((kernel) => ({
    project: async (x, rows) => (await kernel.forward({ x, batch: rows, tokens: 1 }, { returnAttentionWeights: false, trace: false })).output,
    dispose: () => kernel.dispose?.(),
  }));
}

/** `[B*T, H*dh]` -> `[B, H, T, dh]` (fresh memory). */
export function split(src: Float32Array, B: number, T: number, H: number, dh: number): Float32Array {
  const out = new Float32Array(B * H * T * dh);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * H * dh;
      for (let h = 0; h < H; h++) out.set(src.subarray(row + h * dh, row + (h + 1) * dh), ((b * H + h) * T + t) * dh);
    }
  }
  return out;
}

/** `[B, H, T, dh]` -> `[B*T, H*dh]`. */
export function merge(src: Float32Array, B: number, T: number, H: number, dh: number): Float32Array {
  const out = new Float32Array(B * T * H * dh);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const from = ((b * H + h) * T + t) * dh;
        out.set(src.subarray(from, from + dh), (b * T + t) * H * dh + h * dh);
      }
    }
  }
  return out;
}

export type { AttentionMask };
