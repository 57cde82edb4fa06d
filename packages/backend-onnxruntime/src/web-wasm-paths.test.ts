// A wasmPaths where onnxruntime-web's files are not: a typed error naming the option, not
// onnxruntime-web's "no available backend found". Its own file: onnxruntime-web starts once per process.
import { initWeights, resolveConfig } from '@mha/core';
import { expect, it } from 'vitest';
import { createOrtWebBackend } from './web.js';

it('a wasmPaths without the files rejects with MHA_BACKEND_UNAVAILABLE on options.wasmPaths', async () => {
  const config = resolveConfig({ dIn: 8, dOut: 8, heads: 2 });
  const backend = createOrtWebBackend({ wasmPaths: '/nonexistent-ort-web-files/' });
  const e = await backend.createModule(config, initWeights(config, 1)).then(() => undefined, (err: unknown) => err);
  expect(e).toMatchObject({ code: 'MHA_BACKEND_UNAVAILABLE', field: 'options.wasmPaths', value: '/nonexistent-ort-web-files/' });
  expect((e as Error).cause).toBeInstanceOf(Error);
});
