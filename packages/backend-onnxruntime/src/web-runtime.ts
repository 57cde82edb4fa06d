import { MhaError, MhaErrorCode } from '@mha/core';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { env, InferenceSession, Tensor } from '#ort-web';
import type { OrtRuntime } from './runtime.js';
import type { OrtWasmPaths } from './web-options.js';

/** Why more than one thread cannot run here, or `undefined` when it can. */
export function threadsUnavailableReason(): string | undefined {
  if (typeof SharedArrayBuffer === 'undefined') {
    return 'SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: COOP/COEP headers)';
  }
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (COOP/COEP headers), so WebAssembly threads cannot share memory';
  }
  return undefined;
}

/** The settings onnxruntime-web's WebAssembly runtime was started with in this realm (it starts once). */
let started: { threads: number; wasmPaths: string } | undefined;

/**
 * Sets onnxruntime-web's environment before its first session, and refuses a later backend that needs
 * different settings: the WebAssembly runtime is initialised once per realm and would silently keep the
 * first thread count and file location.
 */
function start(threads: number, wasmPaths: OrtWasmPaths | undefined): void {
  const paths = JSON.stringify(wasmPaths ?? null);
  if (started === undefined) {
    env.wasm.numThreads = threads;
    if (wasmPaths !== undefined) env.wasm.wasmPaths = wasmPaths as typeof env.wasm.wasmPaths;
    started = { threads, wasmPaths: paths };
    return;
  }
  if (started.threads !== threads) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.threads', threads, `onnxruntime-web already runs with ${started.threads} thread(s) here; its WebAssembly runtime starts once per page or process, so every ort-web backend in it must use the same thread count`);
  }
  // A backend that does not name wasmPaths accepts wherever the runtime was loaded from.
  if (wasmPaths !== undefined && started.wasmPaths !== paths) {
    throw new MhaError(MhaErrorCode.InvalidOption, 'options.wasmPaths', wasmPaths, `onnxruntime-web already loaded its WebAssembly from ${started.wasmPaths} here; every ort-web backend in one page or process must use the same wasmPaths`);
  }
}

/**
 * onnxruntime-web reports a WebAssembly file it could not load as "no available backend found"; that
 * becomes `MHA_BACKEND_UNAVAILABLE` on `options.wasmPaths`, saying where to look (onnxruntime's error
 * is the cause). Any other error is returned as it is.
 */
function loadFailure(e: unknown, wasmPaths: OrtWasmPaths | undefined): unknown {
  if (!(e instanceof Error) || !/no available backend found/i.test(e.message)) return e;
  const err = new MhaError(
    MhaErrorCode.BackendUnavailable,
    'options.wasmPaths',
    wasmPaths ?? 'default (beside onnxruntime-web)',
    "onnxruntime-web could not load ort-wasm-simd-threaded.wasm/.mjs: serve onnxruntime-web's dist/ files and point wasmPaths at them",
  );
  Object.defineProperty(err, 'cause', { value: e, configurable: true, writable: true, enumerable: false });
  return err;
}

/**
 * onnxruntime-web's WebAssembly execution provider (SIMD; `threads` threads in one pool that every
 * session shares, so no session owns threads of its own).
 */
export function webRuntime(threads: number, wasmPaths: OrtWasmPaths | undefined): OrtRuntime {
  return {
    runtimes: ['node', 'browser', 'deno', 'bun'],
    Tensor: Tensor as unknown as OrtRuntime['Tensor'],
    createSession: async (model, options) => {
      start(threads, wasmPaths);
      try {
        return (await InferenceSession.create(model, options as InferenceSession.SessionOptions)) as unknown as OrtSession;
      } catch (e) {
        throw loadFailure(e, wasmPaths);
      }
    },
    sessionOptions: (o) => ({
      executionProviders: ['wasm'],
      graphOptimizationLevel: o.graphOptimizationLevel,
      executionMode: 'sequential',
      // Failures reach the caller as MhaError with onnxruntime's error as cause; fatal messages only.
      logSeverityLevel: 4,
    }),
    poolThreads: () => 0,
  };
}
