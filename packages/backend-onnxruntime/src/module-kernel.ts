import type { KernelForwardResult, ModuleKernel, MhaWeights, ResolvedMhaConfig, ValidInput } from '@mha/core';
import { exportOnnx, MODULE_NAMES } from '@mha/onnx';
import type { InferenceSession } from 'onnxruntime-node';
import { guarded } from './errors.js';
import { unsharedFloat32 } from './inputs.js';
import type { SessionRegistry } from './live-sessions.js';
import type { ResolvedOrtBackendOptions } from './options.js';
import type { OrtRuntime } from './runtime.js';
import { buildTrace, traceFetches } from './trace.js';

const OUT = MODULE_NAMES.output;
const WEIGHTS = MODULE_NAMES.attentionWeights;

/**
 * A module on onnxruntime: the exported graph in one `InferenceSession`, created once when the
 * module is built and reused by every `forward`. A second session, over the same graph with the
 * `attention_weights` and `trace_*` outputs added, is created only if a caller asks for attention
 * weights or a trace: exposing those tensors keeps onnxruntime from fusing and reusing them, so plain
 * forwards never pay for it. On onnxruntime-node that second session runs single-threaded, so it adds no thread pool
 * (it serves inspection, not throughput). `dispose()` releases both.
 */
export class OrtModuleKernel implements ModuleKernel {
  private diagnostics: Promise<InferenceSession> | undefined;
  private disposing: Promise<void> | undefined;
  /** Runs in flight: `dispose()` waits for them, since releasing a session under a running call is unsafe. */
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    private readonly config: ResolvedMhaConfig,
    private readonly weights: Readonly<MhaWeights>,
    private readonly options: ResolvedOrtBackendOptions,
    private readonly session: InferenceSession,
    private readonly registry: SessionRegistry,
    private readonly runtime: OrtRuntime,
  ) {}

  /** Exports the module's graph and opens its session. */
  static async create(config: ResolvedMhaConfig, weights: Readonly<MhaWeights>, options: ResolvedOrtBackendOptions, registry: SessionRegistry, runtime: OrtRuntime): Promise<OrtModuleKernel> {
    const bytes = exportOnnx(config, weights, { flavour: options.flavour });
    const session = await registry.open(bytes, runtime.sessionOptions(options), 'createModule.session', options.flavour);
    return new OrtModuleKernel(config, weights, options, session, registry, runtime);
  }

  private diagnosticSession(): Promise<InferenceSession> {
    if (this.diagnostics === undefined) {
      const created = this.registry.open(
        exportOnnx(this.config, this.weights, { flavour: this.options.flavour, attentionWeights: true, traceOutputs: true }),
        this.runtime.sessionOptions(this.options, true),
        'forward.session',
        this.options.flavour,
      );
      this.diagnostics = created;
      // A failed creation is not cached: the next request tries again.
      created.catch(() => {
        if (this.diagnostics === created) this.diagnostics = undefined;
      });
    }
    return this.diagnostics;
  }

  /** Runs the graph on one validated input; see the class comment for which session serves it. */
  forward(input: ValidInput, opts: { returnAttentionWeights: boolean; trace: boolean }): Promise<KernelForwardResult> {
    const run = this.run(input, opts);
    this.inFlight.add(run);
    const done = () => this.inFlight.delete(run);
    run.then(done, done);
    return run;
  }

  private async run(input: ValidInput, opts: { returnAttentionWeights: boolean; trace: boolean }): Promise<KernelForwardResult> {
    const dims = [input.batch, input.tokens, this.config.dIn];
    // Unshared buffers go to onnxruntime as they are (it never writes to inputs).
    const feeds = { [MODULE_NAMES.input]: new this.runtime.Tensor('float32', unsharedFloat32(input.x), dims) };
    if (!opts.returnAttentionWeights && !opts.trace) {
      const r = await guarded('forward.run', dims, () => this.session.run(feeds, [OUT]));
      return { output: r[OUT]!.data as Float32Array };
    }
    const session = await this.diagnosticSession();
    const fetches = opts.trace ? [OUT, ...traceFetches(this.options.flavour)] : [OUT, WEIGHTS];
    const r = await guarded('forward.run', dims, () => session.run(feeds, fetches));
    return {
      output: r[OUT]!.data as Float32Array,
      attentionWeights: opts.returnAttentionWeights ? (r[WEIGHTS]!.data as Float32Array) : undefined,
      trace: opts.trace ? buildTrace(this.options.flavour, this.config, dims, Object.fromEntries(fetches.map((f) => [f, r[f]!.dims]))) : undefined,
    };
  }

  /** Releases the sessions once the runs in flight have finished. Every call resolves only after that. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      const diagnostics = this.diagnostics;
      this.diagnostics = undefined;
      await Promise.all([this.registry.close(this.session), diagnostics?.then((s) => this.registry.close(s), () => undefined)]);
    })();
    return this.disposing;
  }
}
