import { MhaError, MhaErrorCode } from './errors.js';
import { MAX_ELEMENTS } from './tensor.js';

/**
 * What a user writes to describe an MHA module. Give either `headDim` or `dOut`
 * (`dOut = heads * headDim`); the rest have defaults.
 *
 * The three seed architectures:
 * - book `MultiHeadAttentionWrapper`: `{ dIn, heads, headDim, causal: true, outProj: false }`
 * - book `MultiHeadAttention`: `{ dIn, dOut, heads, causal: true }` (out_proj with bias)
 * - fused-QKV module (the tutorial's `MultiHeadSelfAttention` with one `qkv` Linear): `{ dIn, dOut: dIn, heads, outProjBias: false }`
 *
 * @example
 * const cfg = resolveConfig({ dIn: 3, dOut: 2, heads: 2, causal: true });
 * cfg.headDim; // 1
 */
export interface MhaConfig {
  /** Width of each input token vector. */
  dIn: number;
  /** Number of attention heads. */
  heads: number;
  /** Width of one head. Either this or `dOut`. */
  headDim?: number;
  /** Total projected width `heads * headDim`. Either this or `headDim`; must be divisible by `heads`. */
  dOut?: number;
  /** Mask future positions (token t attends to keys 0..t). Default `false`. */
  causal?: boolean;
  /** Bias on the query/key/value projections. Default `false` (as in the book). */
  qkvBias?: boolean;
  /** Apply an output projection `dOut -> dOut` after merging heads. Default `true`. */
  outProj?: boolean;
  /** Bias on the output projection (only with `outProj`). Default `true` (torch `nn.Linear` default). */
  outProjBias?: boolean;
  /**
   * Score scale. Default (`undefined` or `null`) `1 / sqrt(headDim)`. Must be finite and within the
   * float32 range (`|scale| <= 3.4028234663852886e38`); 0, negative and tiny scales are valid.
   */
  scale?: number | null;
  /**
   * Number of key/value heads. Default `heads`; `1` is multi-query attention (MQA), anything in between
   * that divides `heads` is grouped-query attention (GQA, Llama/Mistral): query head `h` reads KV head
   * `floor(h / (heads / kvHeads))`. `wk`/`wv` are then `kvHeads * headDim` wide.
   */
  kvHeads?: number;
  /** Width of the key input (`forward(x, { key })`); default `dIn` (PyTorch `kdim`). */
  kdim?: number;
  /** Width of the value input (`forward(x, { value })`); default `dIn` (PyTorch `vdim`). */
  vdim?: number;
}

/** A validated, frozen config with every field filled in. Produced only by {@link resolveConfig}. */
export interface ResolvedMhaConfig {
  readonly dIn: number;
  readonly heads: number;
  readonly headDim: number;
  readonly dOut: number;
  readonly causal: boolean;
  readonly qkvBias: boolean;
  readonly outProj: boolean;
  readonly outProjBias: boolean;
  readonly scale: number;
  /** True when `scale` was not given and is the default `1/sqrt(headDim)`. */
  readonly defaultScale: boolean;
  /** Key/value heads (`heads` unless grouped-query / multi-query). */
  readonly kvHeads: number;
  /** Key input width (`dIn` unless cross-attention with another width). */
  readonly kdim: number;
  /** Value input width (`dIn` unless cross-attention with another width). */
  readonly vdim: number;
}

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new MhaError(MhaErrorCode.InvalidConfig, field, value, 'must be a positive integer');
  }
  return value;
}

function optionalBool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, field, value, 'must be a boolean');
  return value;
}

const KNOWN_KEYS = ['dIn', 'heads', 'headDim', 'dOut', 'causal', 'qkvBias', 'outProj', 'outProjBias', 'scale', 'defaultScale', 'kvHeads', 'kdim', 'vdim'] as const;

/** Largest finite float32: a scale beyond it cannot be represented by a float32 kernel. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Reads each known field once, own properties only: an inherited `causal` or `scale` (a polluted
 * `Object.prototype`, a class instance) must not configure a module, and a getter must not be able
 * to answer differently to the check and to the use.
 */
function ownFields(config: object): Partial<Record<(typeof KNOWN_KEYS)[number], unknown>> {
  // A null-prototype record: reading an absent field must not fall through to Object.prototype.
  const out: Partial<Record<(typeof KNOWN_KEYS)[number], unknown>> = Object.create(null) as object;
  for (const key of KNOWN_KEYS) if (Object.hasOwn(config, key)) out[key] = (config as Record<string, unknown>)[key];
  return out;
}

/**
 * Validates a config and fills in defaults. Throws {@link MhaError} naming the field.
 * Reads own properties only, each once. Returns a frozen object, so a module's `config` cannot be
 * changed after creation.
 *
 * Round-trips: `resolveConfig(resolved)` equals `resolved`, and `resolveConfig({ ...resolved, scale: 0.5 })`
 * has scale 0.5. A number in `scale` is always the scale; an incoming `defaultScale: true` is kept only
 * while that number still equals `1/sqrt(headDim)` (so it marks the default, it never overrides `scale`).
 * To return to the default scale, pass `scale: null`.
 */
export function resolveConfig(config: MhaConfig | ResolvedMhaConfig): ResolvedMhaConfig {
  if (typeof config !== 'object' || config === null) {
    throw new MhaError(MhaErrorCode.InvalidType, 'config', config, 'must be an object');
  }
  for (const key of Object.keys(config)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      throw new MhaError(MhaErrorCode.InvalidConfig, `config.${key}`, (config as unknown as Record<string, unknown>)[key], 'unknown config field (typo?)');
    }
  }
  const c = ownFields(config);
  const dIn = positiveInt(c.dIn, 'config.dIn');
  const heads = positiveInt(c.heads, 'config.heads');
  let headDim: number;
  if (c.headDim !== undefined) {
    headDim = positiveInt(c.headDim, 'config.headDim');
    if (c.dOut !== undefined) {
      const dOut = positiveInt(c.dOut, 'config.dOut');
      if (dOut !== heads * headDim) {
        throw new MhaError(MhaErrorCode.DimMismatch, 'config.dOut', dOut, `must equal heads * headDim = ${heads * headDim}`);
      }
    }
  } else if (c.dOut !== undefined) {
    const dOut = positiveInt(c.dOut, 'config.dOut');
    if (dOut % heads !== 0) {
      throw new MhaError(MhaErrorCode.HeadsNotDivisible, 'config.dOut', dOut, `heads = ${heads} does not divide dOut`);
    }
    headDim = dOut / heads;
  } else {
    throw new MhaError(MhaErrorCode.InvalidConfig, 'config.headDim', undefined, 'give headDim or dOut');
  }
  const dOut = heads * headDim;
  // Refuse sizes whose weight matrices could never be allocated, before anything allocates.
  if (dIn * dOut > MAX_ELEMENTS || dOut * dOut > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidConfig, 'config.dOut', dOut, `weights of ${dIn}x${dOut} or ${dOut}x${dOut} exceed ${MAX_ELEMENTS} elements`);
  }
  const kvHeads = c.kvHeads === undefined ? heads : positiveInt(c.kvHeads, 'config.kvHeads');
  if (heads % kvHeads !== 0) {
    throw new MhaError(MhaErrorCode.HeadsNotDivisible, 'config.kvHeads', kvHeads, `must divide heads = ${heads} (grouped-query attention)`);
  }
  const kdim = c.kdim === undefined ? dIn : positiveInt(c.kdim, 'config.kdim');
  const vdim = c.vdim === undefined ? dIn : positiveInt(c.vdim, 'config.vdim');
  if (Math.max(kdim, vdim) * kvHeads * headDim > MAX_ELEMENTS) {
    throw new MhaError(MhaErrorCode.InvalidConfig, 'config.kdim', Math.max(kdim, vdim), `weights of ${Math.max(kdim, vdim)}x${kvHeads * headDim} exceed ${MAX_ELEMENTS} elements`);
  }
  const causal = optionalBool(c.causal, 'config.causal', false);
  const qkvBias = optionalBool(c.qkvBias, 'config.qkvBias', false);
  const outProj = optionalBool(c.outProj, 'config.outProj', true);
  const outProjBias = outProj && optionalBool(c.outProjBias, 'config.outProjBias', true);
  if (!outProj && c.outProjBias === true) {
    throw new MhaError(MhaErrorCode.InvalidConfig, 'config.outProjBias', true, 'an output-projection bias needs outProj: true');
  }
  // The scale is validated whatever defaultScale says: a flag must never hide a bad value.
  const given = c.scale ?? undefined;
  if (given !== undefined && (typeof given !== 'number' || !Number.isFinite(given) || Math.abs(given) > FLOAT32_MAX)) {
    throw new MhaError(MhaErrorCode.InvalidConfig, 'config.scale', given, `must be a finite number within the float32 range (|scale| <= ${FLOAT32_MAX})`);
  }
  const flag = optionalBool(c.defaultScale, 'config.defaultScale', false);
  const fallback = 1 / Math.sqrt(headDim);
  return Object.freeze({
    dIn,
    heads,
    headDim,
    dOut,
    causal,
    qkvBias,
    outProj,
    outProjBias,
    scale: given ?? fallback,
    defaultScale: given === undefined || (flag && given === fallback),
    kvHeads,
    kdim,
    vdim,
  });
}

/**
 * The config as plain JSON (what fixtures and reports store): no `defaultScale`, `scale: null` when default;
 * `kvHeads`, `kdim`, `vdim` only when they differ from their defaults (so older JSON stays byte-identical).
 */
export function configToJSON(config: ResolvedMhaConfig): MhaConfig {
  const extra: Pick<MhaConfig, 'kvHeads' | 'kdim' | 'vdim'> = {};
  if (config.kvHeads !== config.heads) extra.kvHeads = config.kvHeads;
  if (config.kdim !== config.dIn) extra.kdim = config.kdim;
  if (config.vdim !== config.dIn) extra.vdim = config.vdim;
  return {
    dIn: config.dIn,
    heads: config.heads,
    headDim: config.headDim,
    causal: config.causal,
    qkvBias: config.qkvBias,
    outProj: config.outProj,
    outProjBias: config.outProjBias,
    scale: config.defaultScale ? null : config.scale,
    ...extra,
  };
}

/**
 * True when a config needs more than the plain self-attention module kernel: grouped-query heads or key /
 * value input widths other than `dIn`. Such modules run through core's lowering (SPEC.md, "Module features").
 */
export function isExtendedConfig(config: ResolvedMhaConfig): boolean {
  return config.kvHeads !== config.heads || config.kdim !== config.dIn || config.vdim !== config.dIn;
}
