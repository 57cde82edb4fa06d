// The small app every bundle is built from: what a user writes with the README's packages. It picks a
// backend with @mha/auto, checks one forward against core's float64 reference, runs ts-threads with
// workers on every phase (bit-identical to ts), wasm-threads likewise in a browser, and runs TensorFlow.js's cpu backend. Returns a verdict.
import { pickBackend } from '@mha/auto';
import { initWeights, randomTensor, referenceForward, resolveConfig } from '@mha/core';
import { createTsBackend, tsBackend } from '@mha/backend-ts';
import { createWasmBackend } from '@mha/backend-wasm';

/** Largest |a - b| over two equally long arrays. */
function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

function sameBits(a, b) {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

async function forward(backend, config, weights, x) {
  const module = await backend.createModule(config, weights);
  try {
    return (await module.forward(x)).output.data;
  } finally {
    await module.dispose();
  }
}

/** Runs the app; `expect` says which backend pickBackend must choose here. */
export async function run({ expectPicked, wasmHint = false, wasmThreads, log = console.log }) {
  const problems = [];
  const config = resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true, qkvBias: true });
  const weights = initWeights(config, 1);
  const x = randomTensor([2, 32, 64], 2);
  const reference = referenceForward(config, weights, x).output.data;

  const picked = await pickBackend({ shape: { batch: 2, seqLen: 32 }, config });
  log(`pickBackend: ${picked.name} (${picked.reason})`);
  if (picked.name !== expectPicked) problems.push(`pickBackend chose ${picked.name}, expected ${expectPicked}`);
  const err = maxAbsDiff(await forward(picked.backend, config, weights, x), reference);
  log(`${picked.name} forward: max abs err ${err.toExponential(2)} vs the float64 reference`);
  if (!(err < 1e-4)) problems.push(`${picked.name} forward is off the reference by ${err}`);

  const tfjs = await pickBackend({ prefer: 'tfjs-cpu' });
  const tfErr = maxAbsDiff(await forward(tfjs.backend, config, weights, x), reference);
  log(`tfjs-cpu forward: max abs err ${tfErr.toExponential(2)}`);
  if (!(tfErr < 1e-4)) problems.push(`tfjs-cpu forward is off the reference by ${tfErr}`);

  // ts-threads with every phase shared with the worker: the worker script must have been found.
  const threaded = createTsBackend({ threads: 2, minWorkPerThread: 0 });
  const single = await forward(tsBackend, config, weights, x);
  const result = { threads: threaded.threads, threadsUnavailable: threaded.threadsUnavailable };
  try {
    const module = await threaded.createModule(config, weights);
    const out = (await module.forward(x)).output.data;
    result.workers = threaded.diagnostics().workers;
    await module.dispose();
    result.bitIdentical = sameBits(out, single);
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  }
  await threaded.dispose();
  log(`ts-threads: ${JSON.stringify(result)}`);
  if (result.error) problems.push(`ts-threads forward failed: ${result.error}`);
  else {
    if (result.threads !== 2) problems.push(`ts-threads ran on ${result.threads} thread(s): ${result.threadsUnavailable}`);
    if (!(result.workers >= 1)) problems.push('ts-threads started no worker');
    if (!result.bitIdentical) problems.push('ts-threads output differs from ts');
  }

  // wasm-threads (browser only: its Web Worker must come through the bundle) with every phase shared
  // with the worker: bit-identical to the single-threaded plain-SIMD build.
  if (wasmThreads) {
    const options = wasmThreads.workerUrl === undefined ? {} : { workerUrl: wasmThreads.workerUrl };
    const wt = createWasmBackend({ threads: 2, minWorkPerThread: 0, ...options });
    const ws = createWasmBackend({ simd: 'simd' });
    const r = { threads: wt.threads, threadsUnavailable: wt.threadsUnavailable, workerUrl: wasmThreads.workerUrl };
    try {
      const module = await wt.createModule(config, weights);
      const out = (await module.forward(x)).output.data;
      r.workers = wt.diagnostics().workers;
      await module.dispose();
      r.bitIdentical = sameBits(out, await forward(ws, config, weights, x));
    } catch (error) {
      r.error = error instanceof Error ? error.message : String(error);
    }
    await wt.dispose();
    await ws.dispose();
    log(`wasm-threads: ${JSON.stringify(r)}`);
    if (r.error) problems.push(`wasm-threads forward failed: ${r.error}`);
    else {
      if (r.threads !== 2) problems.push(`wasm-threads ran on ${r.threads} thread(s): ${r.threadsUnavailable}`);
      if (!(r.workers >= 1)) problems.push('wasm-threads started no worker');
      if (!r.bitIdentical) problems.push('wasm-threads output differs from wasm (simd build)');
    }
    // A worker script that is not there (missing-worker.js is never served): the error names its URL.
    const lost = createWasmBackend({ threads: 2, minWorkPerThread: 0, workerUrl: './missing-worker.js' });
    try {
      await forward(lost, config, weights, x);
      if (lost.threads === 2) problems.push('wasm-threads with a missing worker script did not fail');
    } catch (error) {
      log(`wasm-threads with a missing worker: ${error.message}`);
      if (!/missing-worker\.js/.test(error.message)) problems.push(`wasm-threads' worker failure does not name the worker URL: ${error.message}`);
    }
    await lost.dispose();
  }

  // In a browser, tfjs-wasm without wasmPaths cannot find its binaries: the error must say what to set.
  if (wasmHint) {
    const wasm = await pickBackend({ prefer: 'tfjs-wasm' });
    try {
      await forward(wasm.backend, config, weights, x);
      problems.push('tfjs-wasm started without wasmPaths, but its binaries are not served here');
    } catch (error) {
      log(`tfjs-wasm without wasmPaths: ${error.message}`);
      if (!/wasmPaths/.test(error.message)) problems.push(`tfjs-wasm's failure does not mention wasmPaths: ${error.message}`);
    }
  }
  return { ok: problems.length === 0, problems, picked: picked.name };
}
