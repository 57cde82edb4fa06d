import { initWeights, randomTensor, resolveConfig, type AttentionMask, type MhaConfig, type MhaWeights, type ResolvedMhaConfig, type Tensor } from '@mha/core';
import { parseFixture, type AttentionFixture, type ModuleFixture } from '@mha/conformance/browser';

/** Every golden fixture, bundled by Vite; each loaded only when a preset or the suite asks for it. */
const FIXTURE_FILES = import.meta.glob<{ default: unknown }>('../../../fixtures/golden/*.json');

/** Ids of the golden cases (index.json excluded). */
export const FIXTURE_IDS = Object.keys(FIXTURE_FILES)
  .map((p) => p.slice(p.lastIndexOf('/') + 1, -'.json'.length))
  .filter((id) => id !== 'index')
  .sort();

/** One golden fixture, parsed by the conformance suite's own reader. */
export async function loadFixture(id: string) {
  const load = FIXTURE_FILES[`../../../fixtures/golden/${id}.json`];
  if (!load) throw new Error(`no fixture ${id}`);
  return parseFixture((await load()).default);
}

/** A module run: config, weights, input and the labels of its tokens. */
export interface ModuleCase {
  readonly kind: 'module';
  readonly config: ResolvedMhaConfig;
  readonly weights: MhaWeights;
  readonly x: Tensor;
  readonly tokens: readonly string[];
  readonly source: string;
}

/** A core-op run: q, k, v, options and the labels of queries and keys. */
export interface OpCase {
  readonly kind: 'op';
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly causal: boolean;
  readonly mask?: AttentionMask | undefined;
  readonly queries: readonly string[];
  readonly keys: readonly string[];
  readonly source: string;
}

export type Case = ModuleCase | OpCase;

/** What the config box shows and accepts for a preset. */
export type EditableConfig = Record<string, unknown>;

export interface Preset {
  readonly id: string;
  readonly label: string;
  /** The editable JSON shown in the config box. */
  readonly config: EditableConfig;
  /** Builds the case from the (possibly edited) config. */
  build(config: EditableConfig): Promise<Case>;
}

export const BOOK_TOKENS = ['Your', 'journey', 'starts', 'with', 'one', 'step'] as const;

const num = (c: EditableConfig, key: string, fallback: number): number => {
  const v = c[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Error(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
};

function labels(n: number, prefix: string, words: readonly string[] = []): string[] {
  return Array.from({ length: n }, (_, i) => words[i] ?? `${prefix}${i}`);
}

/**
 * A fixture preset: the golden case's weights and input while the config box is unchanged; once it is
 * edited, random weights and input of the edited shape (seed from the box).
 */
function fixturePreset(id: string, label: string, fixtureId: string, config: MhaConfig, batch: number, tokens: number, words: readonly string[]): Preset {
  const shown: EditableConfig = { config, batch, tokens, seed: 1 };
  return {
    id,
    label,
    config: shown,
    async build(edited) {
      if (JSON.stringify(edited) === JSON.stringify(shown)) {
        const f = (await loadFixture(fixtureId)) as ModuleFixture;
        return { kind: 'module', config: f.config, weights: f.weights, x: f.x, tokens: labels(f.x.shape[1]!, 't', words), source: `${f.description} (golden fixture ${f.id}, ${f.oracle})` };
      }
      return randomModule((edited.config ?? config) as MhaConfig, num(edited, 'batch', batch), num(edited, 'tokens', tokens), num(edited, 'seed', 1), words);
    },
  };
}

function randomModule(config: MhaConfig, batch: number, tokens: number, seed: number, words: readonly string[] = []): ModuleCase {
  const c = resolveConfig(config);
  return {
    kind: 'module',
    config: c,
    weights: initWeights(c, seed),
    x: randomTensor([batch, tokens, c.dIn], seed + 1),
    tokens: labels(tokens, 't', words),
    source: `random weights and input (seed ${seed})`,
  };
}

function randomPreset(id: string, label: string, config: MhaConfig, batch: number, tokens: number, words: readonly string[] = []): Preset {
  return {
    id,
    label,
    config: { config, batch, tokens, seed: 7 },
    async build(edited) {
      return randomModule((edited.config ?? config) as MhaConfig, num(edited, 'batch', batch), num(edited, 'tokens', tokens), num(edited, 'seed', 7), words);
    },
  };
}

/** Core-op preset: random q, k, v; optional causal mask and keys hidden by a bool padding mask. */
function opPreset(id: string, label: string, defaults: { heads: number; tq: number; tk: number; dk: number; causal: boolean; maskKeys: number[] }, queries: readonly string[], keys: readonly string[]): Preset {
  return {
    id,
    label,
    config: { batch: 1, ...defaults, seed: 3 },
    async build(c) {
      const B = num(c, 'batch', 1);
      const H = num(c, 'heads', defaults.heads);
      const tq = num(c, 'tq', defaults.tq);
      const tk = num(c, 'tk', defaults.tk);
      const dk = num(c, 'dk', defaults.dk);
      const seed = num(c, 'seed', 3);
      const hidden = (c.maskKeys ?? []) as number[];
      if (!Array.isArray(hidden) || hidden.some((j) => !Number.isSafeInteger(j) || j < 0 || j >= tk)) throw new Error(`maskKeys must list key indices in 0..${tk - 1}`);
      const mask =
        hidden.length > 0
          ? { kind: 'bool' as const, data: Uint8Array.from({ length: B * tk }, (_, i) => (hidden.includes(i % tk) ? 0 : 1)), shape: [B, 1, 1, tk] }
          : undefined;
      return {
        kind: 'op',
        q: randomTensor([B, H, tq, dk], seed),
        k: randomTensor([B, H, tk, dk], seed + 1),
        v: randomTensor([B, H, tk, dk], seed + 2),
        causal: c.causal === true,
        mask,
        queries: labels(tq, 'q', queries),
        keys: labels(tk, 'k', keys),
        source: `core op attention(q, k, v) on random inputs (seed ${seed})${mask ? `; bool mask hides keys ${hidden.join(', ')}` : ''}`,
      };
    },
  };
}

/** A fixture of the core op (cross-attention). */
function opFixturePreset(id: string, label: string, fixtureId: string): Preset {
  return {
    id,
    label,
    config: { fixture: fixtureId },
    async build() {
      const f = (await loadFixture(fixtureId)) as AttentionFixture;
      return {
        kind: 'op',
        q: f.q,
        k: f.k,
        v: f.v,
        causal: f.options.causal,
        queries: labels(f.q.shape[2]!, 'q'),
        keys: labels(f.k.shape[2]!, 'k'),
        source: `${f.description} (golden fixture ${f.id}, ${f.oracle})`,
      };
    },
  };
}

const PAD_SENTENCE = ['The', 'cat', 'sat', 'on', 'the', 'mat', '[pad]', '[pad]'];

export const PRESETS: readonly Preset[] = [
  fixturePreset('book', "Book: MultiHeadAttention on 'Your journey starts with one step'", 'book-mha-ch03', { dIn: 3, dOut: 2, heads: 2, causal: true }, 2, 6, BOOK_TOKENS),
  fixturePreset('book-wrapper', 'Book: MultiHeadAttentionWrapper (2 heads, d_out 2 each)', 'book-wrapper-ch03', { dIn: 3, headDim: 2, heads: 2, causal: true, outProj: false }, 2, 6, BOOK_TOKENS),
  fixturePreset('fused-qkv', "The tutorial's fused-QKV layer: d_model 12, 3 heads, causal", 'fused-qkv-3heads-causal', { dIn: 12, dOut: 12, heads: 3, causal: true, outProjBias: false }, 2, 5, []),
  randomPreset('gpt2', 'GPT-2 width: d_model 768, 12 heads, causal, 16 tokens', { dIn: 768, dOut: 768, heads: 12, causal: true, qkvBias: true }, 1, 16),
  opFixturePreset('cross', 'Cross-attention (core op): 3 queries over 7 keys', 'attention-cross'),
  opPreset('masked', 'Masked (core op): causal + padding mask on 2 keys', { heads: 2, tq: 8, tk: 8, dk: 8, causal: true, maskKeys: [6, 7] }, PAD_SENTENCE, PAD_SENTENCE),
];
