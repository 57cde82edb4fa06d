#!/usr/bin/env node
// Exports a set of models (both module flavours, core-op graphs; causal/non-causal, biases, wrapper
// layout, weights and trace outputs, opsets 13 and 17; module feature graphs: GQA/MQA, cross-attention,
// masks, key padding, bottom-right causal, decoder steps) and runs ONNX's official checker on them with
// full shape inference (check_onnx.py). Needs a Python with the `onnx` package: /usr/bin/python3 by
// default (Debian's python3-onnx), or $MHA_ONNX_PYTHON. Prints "skipped: ..." and exits 0 without one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const python = process.env.MHA_ONNX_PYTHON ?? '/usr/bin/python3';

const probe = spawnSync(python, ['-c', 'import onnx'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.log(`skipped: ${python} with the onnx package is not available (install python3-onnx or set MHA_ONNX_PYTHON)`);
  process.exit(0);
}

if (!existsSync(join(here, '..', 'dist', 'index.js'))) {
  console.error('@mha/onnx is not built: run `pnpm --filter @mha/onnx build` first');
  process.exit(1);
}
const { exportOnnx, exportAttentionOp } = await import('../dist/index.js');
const { initWeights, resolveConfig } = await import('@mha/core');

const CONFIGS = {
  'causal-bias': { dIn: 6, dOut: 8, heads: 2, causal: true, qkvBias: true },
  'noncausal-nobias': { dIn: 8, dOut: 8, heads: 4, outProjBias: false },
  'wrapper-causal': { dIn: 3, heads: 2, headDim: 2, causal: true, outProj: false },
  'wrapper-noncausal-bias': { dIn: 4, heads: 3, headDim: 2, qkvBias: true, outProj: false },
  'scale-headdim1': { dIn: 5, dOut: 4, heads: 4, causal: true, scale: 0.7 },
  'scale-negative': { dIn: 4, dOut: 4, heads: 2, causal: true, scale: -0.5 },
};

const dir = mkdtempSync(join(tmpdir(), 'mha-check-onnx-'));
const manifest = [];
function add(file, bytes, outputs) {
  writeFileSync(join(dir, file), bytes);
  manifest.push({ file, outputs });
}

for (const [name, raw] of Object.entries(CONFIGS)) {
  const config = resolveConfig(raw);
  const weights = initWeights(config, 1);
  const { heads: H, headDim: dh, dOut } = config;
  for (const flavour of ['decomposed', 'attention-op']) {
    const opsets = flavour === 'decomposed' ? [13, 17] : [23];
    for (const opset of opsets) {
      for (const [suffix, extra] of [['', {}], ['-weights', { attentionWeights: true }], ['-trace', { attentionWeights: true, traceOutputs: true }]]) {
        const outputs = { output: ['batch', 'tokens', dOut] };
        if (extra.attentionWeights) outputs.attention_weights = ['batch', H, 'tokens', 'tokens'];
        if (extra.traceOutputs && flavour === 'decomposed') {
          Object.assign(outputs, {
            trace_qkv: ['batch', 'tokens', 3, H, dh],
            trace_scores: ['batch', H, 'tokens', 'tokens'],
            trace_context: ['batch', H, 'tokens', dh],
            trace_merged: ['batch', 'tokens', dOut],
          });
        }
        add(`${flavour}-${name}${suffix}-opset${opset}.onnx`, exportOnnx(config, weights, { flavour, opset, ...extra }), outputs);
      }
    }
  }
}

// Module feature graphs (GQA/MQA, cross-attention with kdim/vdim, masks, key padding, bottom-right
// causal, the decoder step with past/present KV).
const FEATURES = [
  ['gqa-causal-bias', { dIn: 8, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true }, {}],
  ['mqa-bool-mask2', { dIn: 6, heads: 3, kvHeads: 1, headDim: 2 }, { mask: { kind: 'bool', rank: 2 } }],
  ['gqa-additive-mask4-kpm-bool', { dIn: 6, heads: 4, kvHeads: 2, headDim: 2, causal: true }, { mask: { kind: 'additive', rank: 4 }, keyPaddingMask: 'bool' }],
  ['cross-kdim-vdim', { dIn: 5, heads: 2, headDim: 3, kdim: 7, vdim: 4, causal: true, qkvBias: true }, {}],
  ['cross-bottom-right-masks', { dIn: 5, heads: 2, kvHeads: 1, headDim: 3, kdim: 7, vdim: 4, causal: true, outProj: false }, { causalAlign: 'bottom-right', mask: { kind: 'bool', rank: 3 }, keyPaddingMask: 'additive' }],
  ['cross-same-width-scale0', { dIn: 4, heads: 2, headDim: 2, scale: 0 }, { crossAttention: true, keyPaddingMask: 'bool' }],
  ['step-gqa', { dIn: 8, heads: 4, kvHeads: 2, headDim: 3, causal: true, qkvBias: true }, { past: true }],
  ['step-mqa-noproj', { dIn: 6, heads: 3, kvHeads: 1, headDim: 2, causal: true, outProj: false }, { past: true }],
];
for (const [name, raw, options] of FEATURES) {
  const config = resolveConfig(raw);
  const weights = initWeights(config, 1);
  const kv = options.crossAttention || config.kdim !== config.dIn || config.vdim !== config.dIn ? 'kv_tokens' : 'tokens';
  for (const [flavour, opsets] of [['decomposed', [13, 17]], ['attention-op', [23, 24]]]) {
    for (const opset of opsets) {
      for (const [suffix, extra] of options.past ? [['', {}]] : [['', {}], ['-weights', { attentionWeights: true }]]) {
        const outputs = { output: ['batch', 'tokens', config.dOut] };
        if (extra.attentionWeights) outputs.attention_weights = ['batch', config.heads, 'tokens', kv];
        if (options.past) {
          outputs.present_key = ['batch', config.kvHeads, 'total_tokens', config.headDim];
          outputs.present_value = ['batch', config.kvHeads, 'total_tokens', config.headDim];
        }
        add(`module-${flavour}-${name}${suffix}-opset${opset}.onnx`, exportOnnx(config, weights, { flavour, opset, ...options, ...extra }), outputs);
      }
    }
  }
}

const CORE = [
  ['plain', {}],
  ['causal-scale', { causal: true, scale: 0.25 }],
  ['softcap-weights', { softcap: 2, weights: true }],
  ['bool-mask2-causal', { causal: true, mask: { kind: 'bool', rank: 2 }, weights: true }],
  ['bool-mask4', { mask: { kind: 'bool', rank: 4 } }],
  ['additive-mask3-softcap', { softcap: 1.5, mask: { kind: 'additive', rank: 3 }, weights: true }],
  ['additive-mask4-scale0', { scale: 0, mask: { kind: 'additive', rank: 4 }, weights: true }],
];
for (const flavour of ['decomposed', 'attention-op']) {
  for (const [name, options] of CORE) {
    const outputs = { output: ['batch', 'q_heads', 'q_tokens', 'v_head_dim'] };
    if (options.weights) outputs.weights = ['batch', 'q_heads', 'q_tokens', 'kv_tokens'];
    add(`core-${flavour}-${name}.onnx`, exportAttentionOp({ flavour, ...options }), outputs);
  }
}

const manifestPath = join(dir, 'manifest.json');
writeFileSync(manifestPath, JSON.stringify(manifest, null, 1));
const r = spawnSync(python, [join(here, 'check_onnx.py'), manifestPath], { stdio: 'inherit' });
rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
