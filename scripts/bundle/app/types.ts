// Every published entry point, type-checked with skipLibCheck off and neither DOM nor Node types
// (tsconfig written by run.mjs): our declarations must not reach third-party types that need them.
import * as auto from '@mha/auto';
import * as tfjs from '@mha/backend-tfjs';
import * as ort from '@mha/backend-onnxruntime';
import * as ts from '@mha/backend-ts';
import * as wasm from '@mha/backend-wasm';
import * as core from '@mha/core';
import * as onnx from '@mha/onnx';

export const entries: readonly object[] = [auto, tfjs, ort, ts, wasm, core, onnx];
export const threaded: ts.TsBackend = ts.createTsBackend({ threads: 2, workerUrl: '/worker-web.js' });
export const wasmThreaded: wasm.WasmBackend = wasm.createWasmBackend({ threads: 2, workerUrl: '/wasm-worker-web.js' });
