/** What a module graph exposes besides `output`. */
export interface ModuleGraphOptions {
  /** Add the `attention_weights` output. */
  readonly attentionWeights: boolean;
  /** Add the diagnostic `trace_*` outputs ({@link TRACE_OUTPUTS}). */
  readonly traceOutputs: boolean;
}
