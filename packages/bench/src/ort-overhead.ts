import { sessionOptions, type ResolvedOrtBackendOptions } from '@mha/backend-onnxruntime';
import type { MhaBackend, MhaModule, MhaWeights, ResolvedMhaConfig } from '@mha/core';
import { exportOnnx, FLAVOURS, MODULE_NAMES, type OnnxFlavour } from '@mha/onnx';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Bench } from 'tinybench';
import type { OrtOverhead } from './results.js';
import { median, type SamplingPolicy } from './sampling.js';

/** The resolved options of an onnxruntime backend (`createOrtBackend`), or undefined for any other backend. */
export function ortOptionsOf(backend: MhaBackend): ResolvedOrtBackendOptions | undefined {
  const o = (backend as { options?: Partial<ResolvedOrtBackendOptions> }).options;
  if (typeof o !== 'object' || o === null) return undefined;
  if (!FLAVOURS.includes(o.flavour as OnnxFlavour) || typeof o.intraOpNumThreads !== 'number' || typeof o.graphOptimizationLevel !== 'string') return undefined;
  return o as ResolvedOrtBackendOptions;
}

/** Alternating rounds, so drift from other load on the machine hits both sides alike. */
const ROUNDS = 4;

/**
 * Times `module.forward(x)` against a bare `InferenceSession.run` of the same exported graph, opened
 * with the same session options and fed a fresh input `Tensor` per call (the least any caller does).
 * The two run in alternating rounds (A B, B A, ...) and each side's samples are pooled.
 */
export async function measureOrtOverhead(
  module: MhaModule,
  options: ResolvedOrtBackendOptions,
  config: ResolvedMhaConfig,
  weights: MhaWeights,
  x: { data: Float32Array; shape: number[] },
  policy: SamplingPolicy,
): Promise<OrtOverhead> {
  const session = await InferenceSession.create(exportOnnx(config, weights, { flavour: options.flavour }), sessionOptions(options));
  try {
    const dims = x.shape;
    const fns: Record<'module' | 'bare', () => Promise<unknown>> = {
      module: () => module.forward(x),
      bare: () => session.run({ [MODULE_NAMES.input]: new Tensor('float32', x.data, dims) }, [MODULE_NAMES.output]),
    };
    const pooled: Record<'module' | 'bare', number[]> = { module: [], bare: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<'module' | 'bare'> = round % 2 === 0 ? ['module', 'bare'] : ['bare', 'module'];
      const bench = new Bench({
        time: policy.budgetMs / ROUNDS / 2,
        iterations: Math.ceil(policy.minSamples / 2),
        warmup: round === 0,
        warmupTime: policy.warmupMs / 2,
        warmupIterations: 2,
        retainSamples: true,
        throws: true,
      });
      for (const name of order) bench.add(name, fns[name], { async: true });
      await bench.run();
      for (const name of order) {
        const r = bench.getTask(name)?.result;
        if (r?.state !== 'completed' || !r.latency.samples) throw new Error(`overhead measurement '${name}' ended in state ${r?.state}`);
        pooled[name].push(...r.latency.samples);
      }
    }
    const moduleMedianMs = median(pooled.module);
    const bareMedianMs = median(pooled.bare);
    return { moduleMedianMs, bareMedianMs, overheadPercent: 100 * (moduleMedianMs / bareMedianMs - 1), samplesEach: Math.min(pooled.module.length, pooled.bare.length) };
  } finally {
    await session.release();
  }
}
