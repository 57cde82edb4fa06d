/**
 * @mha/backend-ts: multi-head attention in pure TypeScript on Float32Array. No dependencies, no
 * platform APIs: the same code runs in Node, browsers, Deno, Bun and edge runtimes.
 *
 * @example
 * import { initWeights, randomTensor, resolveConfig } from '@mha/core';
 * import { tsBackend } from '@mha/backend-ts';
 *
 * const config = resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true });
 * const module = await tsBackend.createModule(config, initWeights(config, 1));
 * const { output } = await module.forward(randomTensor([2, 16, 64], 2)); // output.shape: [2, 16, 64]
 *
 * @packageDocumentation
 */
import { defineBackend, MhaError, MhaErrorCode, type Capability, type MhaBackend, type Runtime } from '@mha/core';
import { coreAttention } from './core-op.js';
import { createModuleKernel } from './module-kernel.js';

/** Options of {@link createTsBackend}. */
export interface TsBackendOptions {
  /** Backend name (reports, `module.backend`). Default `'ts'`, which the conformance profiles know. */
  readonly name?: string | undefined;
  /**
   * Keep each module's float64 work buffers between forwards. Default `true`: repeated forwards of the
   * same size allocate only their outputs. `false` frees them after every forward, trading speed for
   * the lowest memory held between calls (they are O(B*T*dOut): ~33 MB for B=1, T=1024, D=768).
   */
  readonly retainScratch?: boolean | undefined;
}

/** Runtimes this backend runs in: it uses nothing beyond ECMAScript 2022. */
export const TS_RUNTIMES: readonly Runtime[] = ['node', 'browser', 'deno', 'bun', 'edge'];

/** Every optional core-op feature; all are implemented by the one tiled attention kernel. */
export const TS_CAPABILITIES: readonly Capability[] = ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'];

const OPTION_KEYS = new Set(['name', 'retainScratch']);

/**
 * Builds a pure-TypeScript backend. Use {@link tsBackend} unless you need a different name or
 * memory policy.
 *
 * @throws MhaError `MHA_INVALID_OPTION` / `MHA_INVALID_TYPE` for an unknown or mistyped option.
 *
 * @example
 * const lean = createTsBackend({ retainScratch: false });
 */
export function createTsBackend(options: TsBackendOptions = {}): MhaBackend {
  if (typeof options !== 'object' || options === null) {
    throw new MhaError(MhaErrorCode.InvalidType, 'options', options, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new MhaError(MhaErrorCode.InvalidOption, `options.${key}`, (options as Record<string, unknown>)[key], `unknown option; expected ${[...OPTION_KEYS].join(', ')}`);
  }
  const name = options.name ?? 'ts';
  if (typeof name !== 'string' || name.length === 0) throw new MhaError(MhaErrorCode.InvalidType, 'options.name', name, 'must be a non-empty string');
  const retainScratch = options.retainScratch ?? true;
  if (typeof retainScratch !== 'boolean') throw new MhaError(MhaErrorCode.InvalidType, 'options.retainScratch', retainScratch, 'must be a boolean');
  return defineBackend({
    name,
    runtimes: TS_RUNTIMES,
    capabilities: TS_CAPABILITIES,
    createKernel: (config, weights) => createModuleKernel(config, weights, { retainScratch }),
    attention: coreAttention,
  });
}

/**
 * The pure-TypeScript backend: name `'ts'`, every runtime, every core-op capability
 * (cross-attention, grouped-query, value-head-dim, attn-mask, softcap).
 */
export const tsBackend: MhaBackend = createTsBackend();
