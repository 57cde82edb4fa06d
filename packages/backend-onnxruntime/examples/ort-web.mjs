// Runnable: `node examples/ort-web.mjs` (after `pnpm build`). One GPT-2-sized attention layer on
// onnxruntime-web's WebAssembly build in Node, checked against @mha/core's float64 reference, then the
// core op with grouped-query heads and a causal mask.
import { initWeights, randomTensor, referenceAttention, referenceForward, resolveConfig } from '@mha/core';
import { ortWeb } from '@mha/backend-onnxruntime/web';

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const config = resolveConfig({ dIn: 768, dOut: 768, heads: 12, causal: true, qkvBias: true });
const weights = initWeights(config, 1);
const x = randomTensor([1, 64, 768], 2);
const mha = await ortWeb.createModule(config, weights);
const { output } = await mha.forward(x);
await mha.dispose(); // releases the onnxruntime-web session
console.log(`${ortWeb.name} on ${ortWeb.threads} thread(s): output [${output.shape}], max abs diff from the float64 reference ${maxAbsDiff(output.data, referenceForward(config, weights, x).output.data).toExponential(2)}`);

// The core op: 8 query heads sharing 2 key/value heads.
const q = randomTensor([1, 8, 16, 64], 3);
const k = randomTensor([1, 2, 16, 64], 4);
const v = randomTensor([1, 2, 16, 64], 5);
const { output: context } = await ortWeb.attention(q, k, v, { causal: true });
console.log(`attention: context [${context.shape}], max abs diff ${maxAbsDiff(context.data, referenceAttention(q, k, v, { causal: true }).output.data).toExponential(2)}`);
await ortWeb.dispose();
