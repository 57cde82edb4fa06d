/**
 * Tensor and dimension names of the exported graphs. They are part of the public contract: a
 * program that loads an exported file feeds and fetches by these names.
 */

/** Names in a module export ({@link exportOnnx}). */
export const MODULE_NAMES = {
  /** Graph input: `x`, float32 `[batch, tokens, dIn]`. */
  input: 'x',
  /** Graph output: `output`, float32 `[batch, tokens, dOut]`. */
  output: 'output',
  /** Optional graph output (`attentionWeights: true`): float32 `[batch, heads, tokens, tokens]`, per head, softmax probabilities. */
  attentionWeights: 'attention_weights',
  /** Symbolic batch dimension. */
  batchDim: 'batch',
  /** Symbolic sequence-length dimension (query tokens; the new tokens of a decoder step). */
  tokensDim: 'tokens',
  /** Optional graph input (`crossAttention`): `key`, float32 `[batch, kv_tokens, kdim]`. */
  key: 'key',
  /** Optional graph input (`crossAttention`): `value`, float32 `[batch, kv_tokens, vdim]`. */
  value: 'value',
  /** Optional graph input (`mask`): `attn_mask`, bool (true = attend) or float32 (added), rank 2..4, broadcast right-aligned to `[batch, heads, tokens, kv_tokens]`. */
  mask: 'attn_mask',
  /** Optional graph input (`keyPaddingMask`): `key_padding_mask`, bool (true = a real key) or float32 (added), `[batch, kv_tokens]` (either dim may be 1). */
  keyPaddingMask: 'key_padding_mask',
  /** Decoder-step input (`past: true`): `past_key`, float32 `[batch, kvHeads, past_tokens, headDim]`. */
  pastKey: 'past_key',
  /** Decoder-step input (`past: true`): `past_value`, float32 `[batch, kvHeads, past_tokens, headDim]`. */
  pastValue: 'past_value',
  /** Decoder-step output (`past: true`): `present_key` = `concat(past_key, new keys)`, `[batch, kvHeads, total_tokens, headDim]`. */
  presentKey: 'present_key',
  /** Decoder-step output (`past: true`): `present_value` = `concat(past_value, new values)`. */
  presentValue: 'present_value',
  /** Symbolic key/value sequence length of a cross-attention graph. */
  kvTokensDim: 'kv_tokens',
  /** Symbolic length of a decoder step's past. */
  pastTokensDim: 'past_tokens',
  /** Symbolic `past_tokens + tokens` of a decoder step's present. */
  totalTokensDim: 'total_tokens',
} as const;

/**
 * Optional diagnostic outputs of a module export (`traceOutputs: true`), one per trace step the
 * graph really materialises. The backend fetches them to record the shapes of the tensors the
 * runtime actually produced.
 *
 * | name | decomposed | attention-op |
 * |---|---|---|
 * | `trace_qkv` | `[batch, tokens, 3, heads, headDim]` | `[batch, tokens, 3*dOut]` (fused projection) |
 * | `trace_q`, `trace_k`, `trace_v` | `[batch, heads, tokens, headDim]` | `[batch, tokens, dOut]` (3D Attention inputs) |
 * | `trace_scores` | `[batch, heads, tokens, tokens]` | not materialised (inside the fused op) |
 * | `trace_context` | `[batch, heads, tokens, headDim]` | not materialised (the op merges heads itself) |
 * | `trace_merged` | `[batch, tokens, dOut]` | `[batch, tokens, dOut]` (the op's output `Y`) |
 */
export const TRACE_OUTPUTS = {
  qkv: 'trace_qkv',
  q: 'trace_q',
  k: 'trace_k',
  v: 'trace_v',
  scores: 'trace_scores',
  context: 'trace_context',
  merged: 'trace_merged',
} as const;

/** Names in a core-op export ({@link exportAttentionOp}). */
export const CORE_OP_NAMES = {
  /** `q`: float32 `[batch, q_heads, q_tokens, qk_head_dim]`. */
  q: 'q',
  /** `k`: float32 `[batch, kv_heads, kv_tokens, qk_head_dim]`. */
  k: 'k',
  /** `v`: float32 `[batch, kv_heads, kv_tokens, v_head_dim]`. */
  v: 'v',
  /** Optional `attn_mask` (`mask` option): bool or float32, rank 2..4, broadcastable to `[batch, q_heads, q_tokens, kv_tokens]`. */
  mask: 'attn_mask',
  /** `output`: float32 `[batch, q_heads, q_tokens, v_head_dim]`. */
  output: 'output',
  /** Optional `weights` (`weights: true`): float32 `[batch, q_heads, q_tokens, kv_tokens]`. */
  weights: 'weights',
  /** Optional `past_key` (`past: true`): float32 `[batch, kv_heads, past_tokens, qk_head_dim]`, prepended to `k`. */
  pastKey: 'past_key',
  /** Optional `past_value` (`past: true`): float32 `[batch, kv_heads, past_tokens, v_head_dim]`, prepended to `v`. */
  pastValue: 'past_value',
  /** `present_key` (`past: true`): `concat(past_key, k)` along the tokens, `[batch, kv_heads, past_tokens + kv_tokens, qk_head_dim]`. */
  presentKey: 'present_key',
  /** `present_value` (`past: true`): `concat(past_value, v)`. */
  presentValue: 'present_value',
  /** Symbolic dimensions, in the order above. */
  dims: ['batch', 'q_heads', 'kv_heads', 'q_tokens', 'kv_tokens', 'qk_head_dim', 'v_head_dim'],
} as const;
