import type { MhaConfig } from '@mha/core';

/** A decode cell of the bench (issue 14): run per backend after the forward shapes, selected like a shape. */
export interface DecodeCell {
  readonly name: string;
  readonly description: string;
}

/** GPT-2 small layer width, as the `gpt2-layer` shape (and PyTorch's anchor, scripts/decode-torch.py). */
export const DECODE_CONFIG: MhaConfig = { dIn: 768, dOut: 768, heads: 12, causal: true, qkvBias: true, outProj: true, outProjBias: true };

/** Cache lengths of `decode-step`: the step cost at both gives its growth with the cache (linear: ratio <= 2). */
export const STEP_CACHE_LENGTHS: readonly [number, number] = [512, 1024];

/** `decode-gen`: a prompt of this many tokens, then this many generated one at a time. */
export const GEN_PROMPT = 16;
export const GEN_TOKENS = 256;

/** The decode cells, in run order. */
export const DECODE_CELLS: readonly DecodeCell[] = [
  {
    name: 'decode-step',
    description: `one new token over ${STEP_CACHE_LENGTHS[0]} and ${STEP_CACHE_LENGTHS[1]} cached tokens at gpt2-layer width (D768 H12, biases, out projection): module forward(x, { cache }), core op with a KvCache, core op with pastKey/pastValue`,
  },
  {
    name: 'decode-gen',
    description: `${GEN_TOKENS} tokens generated one at a time after a ${GEN_PROMPT}-token prompt, same width: module forward(x, { cache }) and core op with pastKey/pastValue, tokens/s`,
  },
];

/** True for a decode cell's name (`--shapes` takes both kinds). */
export function isDecodeCell(name: string): boolean {
  return DECODE_CELLS.some((c) => c.name === name);
}
