import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initWeights, randomTensor, referenceForward, resolveConfig } from '@mha/core';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { readModuleFixture } from './fixture-file.js';
import { readModel, readTensorProto } from './read.js';

const dir = mkdtempSync(join(tmpdir(), 'mha-onnx-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'golden');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('mha-onnx export', () => {
  it('writes a model from a config + seed, and ONNX test data from the float64 reference', async () => {
    const model = join(dir, 'seeded.onnx');
    const cfgJson = '{"dIn":6,"dOut":8,"heads":2,"causal":true,"qkvBias":true}';
    const r = await run('export', '--config', cfgJson, '--seed', '3', '--out', model, '--attention-weights', '--test-data', join(dir, 'seeded'), '--batch', '1', '--tokens', '5');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('x [batch, tokens, 6] -> output [batch, tokens, 8], attention_weights [batch, 2, tokens, tokens]');
    const m = readModel(readFileSync(model));
    expect(m.opset).toBe(17);
    const config = resolveConfig(JSON.parse(cfgJson));
    const weights = initWeights(config, 3);
    expect(Array.from(m.graph.initializers.find((t) => t.name === 'out_weight')!.data as Float32Array)).toEqual(Array.from(weights.wo!));
    const x = readTensorProto(readFileSync(join(dir, 'seeded', 'test_data_set_0', 'input_0.pb')));
    expect(x).toMatchObject({ name: 'x', dims: [1, 5, 6] });
    expect(Array.from(x.data as Float32Array)).toEqual(Array.from(randomTensor([1, 5, 6], 4).data));
    const ref = referenceForward(config, weights, randomTensor([1, 5, 6], 4));
    const out = readTensorProto(readFileSync(join(dir, 'seeded', 'test_data_set_0', 'output_0.pb')));
    expect(out).toMatchObject({ name: 'output', dims: [1, 5, 8] });
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(Float32Array.from(ref.output.data)));
    const w = readTensorProto(readFileSync(join(dir, 'seeded', 'test_data_set_0', 'output_1.pb')));
    expect(w).toMatchObject({ name: 'attention_weights', dims: [1, 2, 5, 5] });
  });

  it('writes a model from a golden fixture, with PyTorch outputs as its test data', async () => {
    const model = join(dir, 'fixture.onnx');
    const r = await run('export', '--fixture', join(GOLDEN, 'book-wrapper-ch03.json'), '--flavour', 'attention-op', '--out', model, '--test-data', join(dir, 'fixture'));
    expect(r.code, r.err).toBe(0);
    const m = readModel(readFileSync(model));
    expect(m.opset).toBe(23);
    expect(m.graph.nodes.some((n) => n.opType === 'Attention')).toBe(true);
    const f = readModuleFixture(join(GOLDEN, 'book-wrapper-ch03.json'));
    const out = readTensorProto(readFileSync(join(dir, 'fixture', 'test_data_set_0', 'output_0.pb')));
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(f.output.data));
  });

  it('writes a core-op model', async () => {
    const model = join(dir, 'core.onnx');
    const r = await run('export-core-op', '--out', model, '--causal', '--mask', 'bool:2', '--weights', '--scale', '0.5');
    expect(r.code, r.err).toBe(0);
    const m = readModel(readFileSync(model));
    expect(m.graph.inputs.map((i) => [i.name, i.elemType])).toEqual([['q', 1], ['k', 1], ['v', 1], ['attn_mask', 9]]);
    expect(m.graph.outputs.map((o) => o.name)).toEqual(['output', 'weights']);
  });

  it('exposes the module feature options: key/value, masks, alignment, decoder step', async () => {
    const cross = join(dir, 'cross.onnx');
    const cfg = '{"dIn":6,"heads":4,"kvHeads":2,"headDim":3,"kdim":5,"vdim":7,"causal":true}';
    const r = await run('export', '--config', cfg, '--out', cross, '--mask', 'bool:2', '--key-padding-mask', 'additive', '--causal-align', 'bottom-right', '--flavour', 'attention-op');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('x [batch, tokens, 6], key [batch, kv_tokens, 5], value [batch, kv_tokens, 7], attn_mask [mask_tokens, mask_kv_tokens], key_padding_mask [key_padding_batch, key_padding_kv_tokens] -> output [batch, tokens, 12]');
    expect(JSON.parse(readModel(readFileSync(cross)).metadata['mha.features']!)).toMatchObject({ causalAlign: 'bottom-right', keyPaddingMask: 'additive' });
    const step = await run('export', '--config', cfg.replace('"kdim":5,"vdim":7,', ''), '--out', join(dir, 'step.onnx'), '--past');
    expect(step.code, step.err).toBe(0);
    expect(step.out).toContain('-> output [batch, tokens, 12], present_key [batch, 2, total_tokens, 3], present_value [batch, 2, total_tokens, 3]');
    expect((await run('export', '--config', cfg, '--out', join(dir, 'e.onnx'), '--key-padding-mask', 'float')).code).toBe(2);
    expect((await run('export', '--config', cfg, '--out', join(dir, 'e.onnx'), '--causal-align', 'middle')).code).toBe(2);
    expect((await run('export', '--config', cfg, '--out', join(dir, 'e.onnx'), '--mask', 'bool:5')).code).toBe(2);
    const past = await run('export', '--config', cfg, '--out', join(dir, 'e.onnx'), '--past');
    expect(past.code).toBe(1);
    expect(past.err).toContain('options.past');
    const fixture = await run('export', '--fixture', join(GOLDEN, 'book-wrapper-ch03.json'), '--out', join(dir, 'f.onnx'), '--cross', '--test-data', join(dir, 'f'));
    expect(fixture.code).toBe(2);
  });

  it('inspect describes a model', async () => {
    const model = join(dir, 'inspect.onnx');
    await run('export', '--config', '{"dIn":4,"dOut":4,"heads":2}', '--out', model);
    const r = await run('inspect', model);
    expect(r.code).toBe(0);
    expect(r.out).toContain('opsets ai.onnx:17');
    expect(r.out).toContain('inputs:  x [batch, tokens, 4]');
    expect(r.out).toContain('meta:    mha.flavour = decomposed');
  });

  it('exits 2 on usage errors and 1 on invalid models, with a message', async () => {
    expect((await run('export', '--out', join(dir, 'a.onnx'))).code).toBe(2);
    expect((await run('export', '--config', '{}', '--fixture', 'f.json', '--out', 'x')).code).toBe(2);
    expect((await run('export', '--config', '{"dIn":4,"dOut":4,"heads":2}', '--out', join(dir, 'b.onnx'), '--flavour', 'tf')).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('export', '--bogus')).code).toBe(2);
    const bad = await run('export', '--config', '{"dIn":4,"dOut":5,"heads":2}', '--out', join(dir, 'c.onnx'));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('MHA_HEADS_NOT_DIVISIBLE');
    const opset = await run('export', '--config', '{"dIn":4,"dOut":4,"heads":2}', '--out', join(dir, 'd.onnx'), '--opset', '12');
    expect(opset.code).toBe(1);
    expect(opset.err).toContain('options.opset');
  });
});
