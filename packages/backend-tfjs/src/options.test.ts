import { describe, expect, it } from 'vitest';
import { backends, createTfjsBackend, resolveTfjsBackendOptions, TFJS_BACKENDS, tfjsCpu, tfjsWasm } from './index.js';

describe('backend options', () => {
  it('names each backend tfjs-<tfjs backend> and picks the attention layout per backend', () => {
    expect(TFJS_BACKENDS.map((tfBackend) => createTfjsBackend({ tfBackend }).name)).toEqual(['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgl', 'tfjs-webgpu']);
    expect(TFJS_BACKENDS.map((tfBackend) => resolveTfjsBackendOptions({ tfBackend }).attentionLayout)).toEqual(['per-head', 'per-head', 'batched', 'batched']);
    expect(createTfjsBackend().name).toBe('tfjs-cpu');
    expect(createTfjsBackend({ tfBackend: 'webgl' }).runtimes).toEqual(['browser']);
    expect(backends.map((b) => b.name)).toEqual([tfjsCpu.name, tfjsWasm.name]);
  });

  it('refuses bad options with MHA_INVALID_OPTION / MHA_INVALID_TYPE, naming the field', () => {
    const bad: [unknown, string, string][] = [
      [{ tfBackend: 'tensorflow' }, 'MHA_INVALID_OPTION', 'options.tfBackend'],
      [{ tfBackend: 'node' }, 'MHA_INVALID_OPTION', 'options.tfBackend'],
      [{ attentionLayout: 'fused' }, 'MHA_INVALID_OPTION', 'options.attentionLayout'],
      [{ wasmPaths: '' }, 'MHA_INVALID_OPTION', 'options.wasmPaths'],
      [{ wasmPaths: { 'tfjs-backend-wasm.wasm': 3 } }, 'MHA_INVALID_OPTION', 'options.wasmPaths'],
      [{ backend: 'cpu' }, 'MHA_INVALID_OPTION', 'options.backend'],
      ['cpu', 'MHA_INVALID_TYPE', 'options'],
    ];
    for (const [options, code, field] of bad) {
      expect(() => createTfjsBackend(options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code, field }));
    }
  });
});
