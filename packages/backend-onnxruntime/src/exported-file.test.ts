import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportAttentionOp, exportOnnx, FLAVOURS, MODULE_NAMES, readTensorProto } from '@mha/onnx';
import { main as mhaOnnx } from '@mha/onnx/cli';
import { initWeights, randomTensor, referenceAttention, referenceForward, resolveConfig } from '@mha/core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { attentionCase, expectClose, GOLDEN_DIR, moduleCase } from './test-helpers.js';

// What a user does with an export: write the file, open it elsewhere in a fresh session, feed by name.
const dir = mkdtempSync(join(tmpdir(), 'mha-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(FLAVOURS)('%s export written to disk', (flavour) => {
  for (const id of ['book-mha-ch03', 'torch-mha-causal', 'book-wrapper-ch03', 'torch-mha-d256-h8-t64']) {
    it(`reproduces golden fixture ${id} from a fresh InferenceSession`, async () => {
      const f = moduleCase(id);
      const path = join(dir, `${flavour}-${id}.onnx`);
      writeFileSync(path, exportOnnx(f.config, f.weights, { flavour, attentionWeights: true }));
      const session = await InferenceSession.create(path);
      try {
        expect(session.inputNames).toEqual([MODULE_NAMES.input]);
        expect(session.outputNames).toEqual([MODULE_NAMES.output, MODULE_NAMES.attentionWeights]);
        const r = await session.run({ x: new Tensor('float32', f.x.data, [...f.x.shape]) });
        expect(r.output!.dims).toEqual(f.expected.output.shape);
        expectClose(r.output!.data as Float32Array, f.expected.output.data, 'output');
        expectClose(r.attention_weights!.data as Float32Array, f.expected.attentionWeights.data, 'attention_weights');
      } finally {
        await session.release();
      }
    });
  }

  it('one file serves every batch size and sequence length', async () => {
    const config = resolveConfig({ dIn: 12, dOut: 12, heads: 3, causal: true, qkvBias: true });
    const weights = initWeights(config, 8);
    const path = join(dir, `${flavour}-dynamic.onnx`);
    writeFileSync(path, exportOnnx(config, weights, { flavour }));
    const session = await InferenceSession.create(readFileSync(path));
    for (const [B, T] of [[1, 1], [4, 3], [2, 17], [1, 64]] as const) {
      const x = randomTensor([B, T, 12], B * 100 + T);
      const r = await session.run({ x: new Tensor('float32', x.data, [B, T, 12]) });
      expect(r.output!.dims).toEqual([B, T, 12]);
      expectClose(r.output!.data as Float32Array, referenceForward(config, weights, x).output.data, `B=${B} T=${T}`);
    }
    await session.release();
  });

  it('the core-op graph reproduces golden fixture attention-cross-causal from disk', async () => {
    const f = attentionCase('attention-cross-causal');
    const path = join(dir, `${flavour}-core.onnx`);
    writeFileSync(path, exportAttentionOp({ flavour, causal: true, weights: true }));
    const session = await InferenceSession.create(path);
    const feed = (t: { data: Float32Array; shape: readonly number[] }) => new Tensor('float32', t.data, [...t.shape]);
    const r = await session.run({ q: feed(f.q), k: feed(f.k), v: feed(f.v) });
    expectClose(r.output!.data as Float32Array, f.expected.output.data, 'output');
    expectClose(r.weights!.data as Float32Array, f.expected.attentionWeights.data, 'weights');
    expectClose(r.output!.data as Float32Array, referenceAttention(f.q, f.k, f.v, { causal: true }).output.data, 'output vs reference');
    await session.release();
  });
});

describe.each(FLAVOURS)('mha-onnx CLI, %s', (flavour) => {
  it('writes a model and ONNX test data that onnxruntime reproduces', async () => {
    const model = join(dir, `cli-${flavour}.onnx`);
    const data = join(dir, `cli-${flavour}`);
    const quiet = () => {};
    const code = await mhaOnnx(['export', '--fixture', join(GOLDEN_DIR, 'book-mha-qkv-bias.json'), '--flavour', flavour, '--attention-weights', '--out', model, '--test-data', data], quiet, quiet);
    expect(code).toBe(0);
    const pb = (name: string) => readTensorProto(readFileSync(join(data, 'test_data_set_0', name)));
    const x = pb('input_0.pb');
    const session = await InferenceSession.create(model);
    const r = await session.run({ [x.name]: new Tensor('float32', x.data as Float32Array, x.dims) });
    for (const file of ['output_0.pb', 'output_1.pb']) {
      const expected = pb(file);
      expect(r[expected.name]!.dims).toEqual(expected.dims);
      expectClose(r[expected.name]!.data as Float32Array, expected.data as Float32Array, file);
    }
    await session.release();
  });
});
