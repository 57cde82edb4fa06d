import type { AttentionOptions } from './attention-options.js';
import { lowerAttention, scoreStage } from './attention-lowering.js';
import { isExtendedConfig, resolveConfig, type MhaConfig, type ResolvedMhaConfig } from './config.js';
import { ModuleLowering } from './lowering.js';
import { averageHeads, combinedMask, moduleTrace, needsLowering, privateInputs, validateModuleCall } from './module-options.js';
import { MhaError, MhaErrorCode } from './errors.js';
import { referenceAttentionValid } from './reference/attention.js';
import { privateCopy, type Tensor } from './tensor.js';
import type { ShapeTrace } from './trace.js';
import {
  firstNonFinite,
  validateAttention,
  type ForwardOptions,
  type ValidAttention,
  type ValidInput,
} from './validate.js';
import { validateWeights, type MhaWeights } from './weights.js';

/** Where a backend can run. */
export type Runtime = 'node' | 'browser' | 'deno' | 'bun' | 'edge';

/**
 * Optional features of the core attention op. A backend lists what it supports; asking for
 * anything else raises `MHA_UNSUPPORTED`, and the conformance suite reports those cases as skipped
 * with the reason, never as passed.
 */
export const CAPABILITIES = {
  'cross-attention': 'core op with Tq != Tk (causal is top-left aligned)',
  'grouped-query': 'core op with fewer KV heads than query heads (GQA/MQA)',
  'value-head-dim': 'core op with a V head size different from the Q/K head size',
  'attn-mask': 'core op with a bool or additive attention mask',
  softcap: 'core op with score soft-capping (softcap * tanh(s / softcap))',
} as const;

/** One of the keys of {@link CAPABILITIES}. */
export type Capability = keyof typeof CAPABILITIES;

/** What a module's `forward` returns. */
export interface ForwardResult {
  /** `[B, Tq, dOut]` float32. */
  readonly output: Tensor;
  /** `[B, heads, Tq, Tk]` (or `[B, Tq, Tk]` with `averageWeights`), when `returnWeights` was set. */
  readonly weights?: Tensor | undefined;
  /** @deprecated The same tensor as `weights` (the old name); kept until the next major. */
  readonly attentionWeights?: Tensor | undefined;
  /** When `trace` was set. */
  readonly trace?: ShapeTrace | undefined;
}

/** What the core op returns. */
export interface AttentionResult {
  /** `[B, Hq, Tq, dv]` float32. */
  readonly output: Tensor;
  /** `[B, Hq, Tq, T]` (`T` = past + new keys) at `weightsStage`, when `returnWeights` was set. */
  readonly weights?: Tensor | undefined;
  /** `[B, Hkv, P + Tk, dk]`: `pastKey` then `k` (ONNX `present_key`), when `pastKey` was given. */
  readonly presentKey?: Tensor | undefined;
  /** `[B, Hkv, P + Tk, dv]`: `pastValue` then `v` (ONNX `present_value`), when `pastValue` was given. */
  readonly presentValue?: Tensor | undefined;
}

/** A built MHA module: config + weights, validated once, bound to one backend. */
export interface MhaModule {
  /** Name of the backend that built it. */
  readonly backend: string;
  readonly config: ResolvedMhaConfig;
  /** True after `dispose()`. */
  readonly disposed: boolean;
  /**
   * Runs the module on the query input `x [B, Tq, dIn]` (float32): self-attention, or cross-attention with
   * `options.key` / `options.value`, with optional masks (see {@link ForwardOptions}). Input is validated in
   * core first; the caller's buffers are never modified.
   */
  forward(x: Tensor, options?: ForwardOptions): Promise<ForwardResult>;
  /** Frees the backend's resources. Idempotent. `forward` afterwards throws `MHA_DISPOSED`. */
  dispose(): Promise<void>;
}

/** The contract every backend implements; obtain one with {@link defineBackend}. */
export interface MhaBackend {
  readonly name: string;
  readonly runtimes: readonly Runtime[];
  readonly capabilities: readonly Capability[];
  /** Builds a module. Config and weights are validated in core before the backend sees them. */
  createModule(config: MhaConfig | ResolvedMhaConfig, weights: MhaWeights): Promise<MhaModule>;
  /** The attention core op on already-projected `q [B,Hq,Tq,dk]`, `k [B,Hkv,Tk,dk]`, `v [B,Hkv,Tk,dv]`. */
  attention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Promise<AttentionResult>;
  /** Frees backend-level resources (e.g. cached core-op sessions). Modules stay the caller's to dispose. */
  dispose(): Promise<void>;
  /**
   * Counters of live resources (e.g. `{ tensors: 12 }`, `{ sessions: 2 }`) for leak checks and soak
   * tests: after every module is disposed they return to their baseline. `{}` when a backend has none.
   */
  diagnostics(): Readonly<Record<string, number>>;
}

/** What a backend's module kernel returns; sizes are checked by core. */
export interface KernelForwardResult {
  readonly output: Float32Array;
  readonly attentionWeights?: Float32Array | undefined;
  readonly trace?: ShapeTrace | undefined;
}

/** The backend-specific half of a module. Receives only validated, non-empty inputs. */
export interface ModuleKernel {
  forward(input: ValidInput, options: { returnAttentionWeights: boolean; trace: boolean }): KernelForwardResult | Promise<KernelForwardResult>;
  dispose?(): void | Promise<void>;
}

/**
 * A backend's native dense projection `y = x W + b`, built once per weight matrix by
 * {@link BackendDefinition.createProjection}. Core calls it for the projections of module calls it lowers
 * (SPEC.md, "Module features") and checks the result's length; as on the fallback path, a non-finite value
 * from finite inputs surfaces as `MHA_OVERFLOW` in the module's output.
 */
export interface ProjectionKernel {
  /**
   * `x [rows, inW] @ W [inW, n] + b`, as a fresh `[rows, n]` float32 array (never a scratch buffer that a
   * later call reuses). `x` is core's private array (never the caller's): it may be read late (after an
   * await, on a queue) but must never be written, since one array may feed several projections at once.
   * `rows >= 1`. Calls may overlap.
   */
  project(x: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
  /** Frees what `createProjection` allocated; called once, with the module's `dispose()`, after its calls settle. */
  dispose?(): void | Promise<void>;
}

/** What a backend author writes: kernels only. Validation, empty inputs and lifecycle are core's. */
export interface BackendDefinition {
  readonly name: string;
  readonly runtimes: readonly Runtime[];
  readonly capabilities: readonly Capability[];
  createKernel(config: ResolvedMhaConfig, weights: Readonly<MhaWeights>): ModuleKernel | Promise<ModuleKernel>;
  attention(a: ValidAttention): { output: Float32Array; weights?: Float32Array | undefined } | Promise<{ output: Float32Array; weights?: Float32Array | undefined }>;
  /**
   * Optional: a native projection `y = x W + b` with `W [inW, n]` (row-major, `[in, out]` as in
   * "Weight layout") and `b [n]` (`undefined`: no bias). Module calls with features (`kvHeads`,
   * `kdim`/`vdim`, masks, bottom-right causal, averaged weights, a module cache) are lowered by core
   * into projections plus the core op; with this hook each projection is one GEMM on the backend.
   * Without it, core runs each projection on a one-head, one-key module kernel (`wv = W`, `wq = wk = 0`),
   * which is exact but does about three times the work. Called at most once per weight matrix of a
   * module, on the first lowered call; the result is disposed with the module. `w` and `b` are core's
   * validated copies, never modified: the backend may keep them, and must not write them. Validation,
   * size and overflow checks and the lifecycle are core's on both paths.
   */
  createProjection?(inW: number, n: number, w: Float32Array, b: Float32Array | undefined): ProjectionKernel | Promise<ProjectionKernel>;
  /**
   * The backend promises that `kernel.forward` and `attention` read every input element before they
   * return (their value may still be a pending promise), i.e. synchronously. Default `false`: core then
   * hands them private, non-shared copies of x / q / k / v / mask data, made during the call, so a
   * caller refilling its buffer right after `forward()` returns cannot change the result.
   */
  readonly readsInputsSynchronously?: boolean | undefined;
  /**
   * The backend's `attention` honours `ValidAttention.kvRowsPerHead`. With `readsInputsSynchronously` too,
   * a module's cached step hands it the cache's storage `[B, Hkv, capacity, d]` in place instead of
   * gathering the cached keys into a fresh contiguous copy every step. The storage is core's: read it, never
   * write or keep it (the next step appends to it). Default `false`.
   */
  readonly readsKvInPlace?: boolean | undefined;
  /**
   * Optional: frees backend-level resources (caches, worker pools). The backend stays usable: later
   * calls re-create what they need.
   */
  dispose?(): void | Promise<void>;
  /** Optional: counters of live resources (see {@link MhaBackend.diagnostics}). */
  diagnostics?(): Readonly<Record<string, number>>;
}

function contract(backend: string, field: string, got: unknown, expected: number): MhaError {
  return new MhaError(MhaErrorCode.BackendContract, field, got, `backend '${backend}' returned ${String(got)} elements, expected ${expected}`);
}

function checkLength(backend: string, field: string, a: Float32Array | undefined, expected: number): Float32Array {
  if (!(a instanceof Float32Array) || a.length !== expected) throw contract(backend, field, a instanceof Float32Array ? a.length : a, expected);
  return a;
}

/**
 * Raises `MHA_OVERFLOW` at the first non-finite element of a kernel result. Inputs and weights were
 * checked finite, so a NaN or Infinity here means an intermediate left the float32 range (SPEC.md,
 * "Non-finite values"): refusing it is the one behaviour every backend can share.
 */
function checkResult(backend: string, field: string, a: Float32Array): Float32Array {
  const i = firstNonFinite(a);
  if (i >= 0) throw new MhaError(MhaErrorCode.Overflow, `${field}[${i}]`, a[i], `backend '${backend}' produced a non-finite value from finite inputs: an intermediate exceeded the float32 range`);
  return a;
}

/** Where {@link defineBackend} keeps a backend's definition; enumerable so that `{ ...backend }` keeps it. */
const DEFINITION: unique symbol = Symbol.for('@mha/core/backend-definition') as never;

/** Which capabilities a validated core-op call needs. */
export function requiredCapabilities(a: ValidAttention): Capability[] {
  const need: Capability[] = [];
  if (a.tq !== a.tk) need.push('cross-attention');
  if (a.kvHeads !== a.qHeads) need.push('grouped-query');
  if (a.dv !== a.dk) need.push('value-head-dim');
  if (a.mask) need.push('attn-mask');
  if (a.softcap > 0) need.push('softcap');
  return need;
}

/**
 * Wraps a backend's kernels into the public {@link MhaBackend} contract, adding the shared
 * validation, the empty-input policy, capability checks, output-size checks and the dispose
 * lifecycle, so every backend behaves identically on everything that is not arithmetic.
 *
 * @example
 * export const myBackend = defineBackend({
 *   name: 'my-backend', runtimes: ['node'], capabilities: [],
 *   createKernel: (config, weights) => ({ forward: (input, opts) => ({ output: ... }) }),
 *   attention: (a) => ({ output: ... }),
 * });
 */
export function defineBackend(def: BackendDefinition): MhaBackend {
  const caps = new Set(def.capabilities);
  const name = def.name;
  const copyInputs = def.readsInputsSynchronously !== true;
  let backendDisposing: Promise<void> | undefined;
  const backend: MhaBackend & { [DEFINITION]: BackendDefinition } = {
    name,
    runtimes: [...def.runtimes],
    capabilities: [...def.capabilities],
    [DEFINITION]: def,
    async createModule(config, weights) {
      const cfg = resolveConfig(config);
      const w = validateWeights(cfg, weights);
      // validateWeights returns fresh copies (filled with set(), never slice(), which follows Symbol.species),
      // so later mutation of the caller's arrays cannot change a built module.
      const owned = w;
      // A config the plain kernel cannot hold (GQA, kdim/vdim) has no main kernel: every call is lowered.
      const kernel = isExtendedConfig(cfg) ? undefined : await def.createKernel(cfg, owned);
      let lowering: ModuleLowering | undefined;
      let disposing: Promise<void> | undefined;
      // Forwards still running when dispose() is called finish before the kernel is freed.
      const inFlight = new Set<Promise<unknown>>();
      const module: MhaModule = {
        backend: name,
        config: cfg,
        get disposed() {
          return disposing !== undefined;
        },
        // Everything up to the kernel call runs synchronously inside forward(): the input is read (and
        // copied when the backend did not promise to read it synchronously) before the caller regains control.
        async forward(x, options) {
          if (disposing) throw new MhaError(MhaErrorCode.Disposed, 'module', name, 'forward() after dispose()');
          const call = validateModuleCall(cfg, x, options);
          const { batch: B, tq, tk } = call;
          const outLen = B * tq * cfg.dOut;
          const wLen = B * cfg.heads * tq * tk;
          const wShape = call.averageWeights ? [B, tq, tk] : [B, cfg.heads, tq, tk];
          const finish = (output: Float32Array, weights: Float32Array | undefined, trace: ShapeTrace | undefined): ForwardResult => {
            const result: { output: Tensor; weights?: Tensor; attentionWeights?: Tensor; trace?: ShapeTrace } = { output: { data: output, shape: [B, tq, cfg.dOut] } };
            if (call.returnWeights) {
              const w = { data: call.averageWeights ? averageHeads(weights!, B, cfg.heads, tq, tk) : weights!, shape: wShape };
              // One tensor under both names: `attentionWeights` is the deprecated alias of `weights`.
              result.weights = w;
              result.attentionWeights = w;
            }
            if (trace) result.trace = trace;
            return result;
          };
          if (outLen === 0) return finish(new Float32Array(0), new Float32Array(0), call.trace ? moduleTrace(cfg, B, tq, tk) : undefined);
          const lowered = needsLowering(cfg, call);
          let run: Promise<{ output: Float32Array; weights: Float32Array | undefined; trace: ShapeTrace | undefined }>;
          if (lowered) {
            // Inputs are always copied here: the lowering awaits between reading x, key and value.
            const privateCall = privateInputs(call);
            lowering ??= new ModuleLowering(def, cfg, owned, (field, a, n) => checkLength(name, field, a, n));
            // A cached call builds its mask once the cache's padding is known (forwardCached).
            run = (call.cache ? lowering.forwardCached(privateCall, call.cache) : lowering.forward(privateCall, combinedMask(cfg, call))).then((r) => ({
              ...r,
              trace: call.trace ? moduleTrace(cfg, B, tq, tk) : undefined,
            }));
          } else {
            const input: ValidInput = { x: copyInputs ? privateCopy(Float32Array, call.x) : call.x, batch: B, tokens: tq };
            run = Promise.resolve(kernel!.forward(input, { returnAttentionWeights: call.returnWeights, trace: call.trace })).then((r) => {
              if (call.trace && !Array.isArray(r.trace)) throw new MhaError(MhaErrorCode.BackendContract, 'trace', r.trace, `backend '${name}' did not return a trace`);
              return { output: r.output, weights: r.attentionWeights, trace: call.trace ? r.trace : undefined };
            });
          }
          inFlight.add(run);
          // A failed cached step gives back the keys it appended: the cache is as before the call.
          const cacheBefore = call.cache?.length ?? 0;
          try {
            let r: Awaited<typeof run>;
            try {
              r = await run;
            } finally {
              inFlight.delete(run);
            }
            const output = checkResult(name, 'output', checkLength(name, 'output', r.output, outLen));
            const wField = lowered ? 'weights' : 'attentionWeights';
            // Stages before the softmax are core's scoreStage (finite, or -Infinity where 'masked' hides a key).
            const weights = call.returnWeights ? (call.weightsStage === 'softmax' ? checkResult(name, wField, checkLength(name, wField, r.weights, wLen)) : r.weights) : undefined;
            return finish(output, weights, r.trace);
          } catch (e) {
            if (call.cache && call.cache.length === cacheBefore + tq) call.cache.truncate(cacheBefore);
            throw e;
          }
        },
        // One shared promise: a second (concurrent) dispose() resolves only once the kernel is freed.
        dispose() {
          disposing ??= (async () => {
            await Promise.allSettled([...inFlight]);
            await lowering?.dispose();
            await kernel?.dispose?.();
          })();
          return disposing;
        },
      };
      return module;
    },
    async attention(q, k, v, options) {
      const call = validateAttention(q, k, v, options);
      // Past/present, nonpad and offset causal become a plain call (attention-lowering.ts): no kernel sees them.
      const a = lowerAttention(call);
      for (const cap of requiredCapabilities(a)) {
        if (!caps.has(cap)) throw new MhaError(MhaErrorCode.Unsupported, 'capability', cap, `backend '${name}' does not support ${CAPABILITIES[cap]}`);
      }
      const outShape = [a.batch, a.qHeads, a.tq, a.dv];
      const wShape = [a.batch, a.qHeads, a.tq, a.tk];
      const outLen = a.batch * a.qHeads * a.tq * a.dv;
      const wLen = a.batch * a.qHeads * a.tq * a.tk;
      const present = call.pastKey
        ? { presentKey: { data: a.k, shape: [a.batch, a.kvHeads, a.tk, a.dk] }, presentValue: { data: a.v, shape: [a.batch, a.kvHeads, a.tk, a.dv] } }
        : {};
      // Stages before the softmax are core's (attention-lowering.ts, scoreStage): the same numbers on every backend.
      const stage = call.returnWeights && call.weightsStage !== 'softmax' ? { data: scoreStage(a, call.weightsStage), shape: wShape } : undefined;
      // Empty policy: nothing to compute, or no keys at all (every row fully masked -> zeros).
      if (outLen === 0 || a.tk === 0) {
        call.cache?.appendChecked(call.k, call.v, call.tk);
        return {
          output: { data: new Float32Array(outLen), shape: outShape },
          weights: stage ?? (a.returnWeights ? { data: new Float32Array(wLen), shape: wShape } : undefined),
          ...present,
        };
      }
      // dk = 0: every score is an empty dot product, 0, so the weights are the softmax of the mask alone
      // (uniform over visible keys). No arithmetic a kernel could add; many cannot take a 0-sized axis.
      if (a.dk === 0) {
        const r = referenceAttentionValid(a);
        call.cache?.appendChecked(call.k, call.v, call.tk);
        return {
          output: { data: Float32Array.from(r.output), shape: outShape },
          weights: stage ?? (a.returnWeights ? { data: Float32Array.from(r.weights), shape: wShape } : undefined),
          ...present,
        };
      }
      // Arrays core built while lowering (concatenated k/v, a folded mask) are already private.
      const own = <T extends Float32Array | Uint8Array>(lowered: T, caller: T, ctor: { new (n: number): T }): T => {
        if (!copyInputs || lowered !== caller) return lowered;
        const c = new ctor(lowered.length);
        c.set(lowered);
        return c;
      };
      const input: ValidAttention = copyInputs
        ? {
            ...a,
            q: privateCopy(Float32Array, a.q),
            k: own(a.k, call.k, Float32Array),
            v: own(a.v, call.v, Float32Array),
            mask: a.mask && {
              kind: a.mask.kind,
              shape: [...a.mask.shape],
              data: a.mask.kind === 'bool' ? own(a.mask.data as Uint8Array, call.mask?.data as Uint8Array, Uint8Array) : own(a.mask.data as Float32Array, call.mask?.data as Float32Array, Float32Array),
            },
          }
        : a;
      // A cache takes the new keys during the call (the next call sees them), and gives them back if this one fails.
      const before = call.cache?.length ?? 0;
      call.cache?.appendChecked(call.k, call.v, call.tk);
      try {
        const r = await def.attention(input);
        return {
          output: { data: checkResult(name, 'output', checkLength(name, 'output', r.output, outLen)), shape: outShape },
          weights: stage ?? (a.returnWeights ? { data: checkResult(name, 'weights', checkLength(name, 'weights', r.weights, wLen)), shape: wShape } : undefined),
          ...present,
        };
      } catch (e) {
        if (call.cache && call.cache.length === before + call.tk) call.cache.truncate(before);
        throw e;
      }
    },
    // Concurrent calls share one run; a later call (after it settled) frees again what was re-created.
    dispose() {
      backendDisposing ??= (async () => {
        try {
          await def.dispose?.();
        } finally {
          backendDisposing = undefined;
        }
      })();
      return backendDisposing;
    },
    diagnostics() {
      return def.diagnostics?.() ?? {};
    },
  };
  return backend;
}

/**
 * A backend derived from `base` with some definition fields replaced (`name`, `capabilities`, a kernel, ...),
 * built by {@link defineBackend} again so that validation, capability refusal and the lifecycle follow the
 * new definition. Spreading (`{ ...backend, capabilities: [...] }`) is not a safe way to derive one: the
 * spread object's methods still check the capabilities of the original. Extra fields of `base` (e.g.
 * `threads`) are kept.
 *
 * @throws Error when `base` was not built by `defineBackend` (or a spread of such a backend).
 *
 * @example
 * const noSoftcap = deriveBackend(tsBackend, { name: 'ts-no-softcap', capabilities: ['cross-attention'] });
 */
export function deriveBackend<B extends MhaBackend>(base: B, overrides: Partial<BackendDefinition>): B {
  const def = (base as Partial<Record<typeof DEFINITION, BackendDefinition>>)[DEFINITION];
  if (def === undefined) throw new Error(`deriveBackend: backend '${String(base.name)}' was not built by defineBackend`);
  return { ...base, ...defineBackend({ ...def, ...overrides }) };
}
