import { defineBackend, expectedTrace, referenceAttentionValid, referenceForward, type MhaBackend } from '@mha/core';

/**
 * The float64 reference wrapped as a backend (results rounded to float32). It is the suite's
 * control: it must pass every case, so a failure on another backend is the backend's, not the suite's.
 * Slow by design; not for production.
 */
export const referenceBackend: MhaBackend = defineBackend({
  name: 'reference',
  runtimes: ['node', 'browser', 'deno', 'bun', 'edge'],
  capabilities: ['cross-attention', 'grouped-query', 'value-head-dim', 'attn-mask', 'softcap'],
  createKernel(config, weights) {
    return {
      forward(input, options) {
        const r = referenceForward(config, weights, { data: input.x, shape: [input.batch, input.tokens, config.dIn] });
        return {
          output: Float32Array.from(r.output.data),
          attentionWeights: options.returnAttentionWeights ? Float32Array.from(r.attentionWeights.data) : undefined,
          trace: options.trace ? expectedTrace(config, input.batch, input.tokens) : undefined,
        };
      },
    };
  },
  attention(a) {
    const r = referenceAttentionValid(a);
    return { output: Float32Array.from(r.output), weights: a.returnWeights ? Float32Array.from(r.weights) : undefined };
  },
});
