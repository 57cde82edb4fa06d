// Build-time only: reads the ONNX project's Attention test directories (model.onnx + .pb tensors) with
// @mha/onnx (a devDependency) and converts them to OnnxPeerCase values, which scripts/convert-onnx-peer.mjs
// writes as dist/fixtures/onnx-peer.json. Not published (package.json `files`), so an installed
// @mha/conformance never needs protobufjs or onnx-proto.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lowerAttention, MhaError, MhaErrorCode, requiredCapabilities, validateAttention, type AttentionOptions, type Capability, type Tensor, type WeightsStage } from '@mha/core';
import { readModel, readTensorProto, type OnnxTensor } from '@mha/onnx';
import { readRegularFileBytes } from './fixture-files.js';
import type { OnnxPeerCase } from './onnx-peer.js';

export type { OnnxPeerCase } from './onnx-peer.js';

function toF32(t: OnnxTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new MhaError(MhaErrorCode.InvalidType, t.name, t.type, 'expected a float tensor');
}

/** `[B, S, H*d]` -> `[B, H, S, d]`; `heads` was checked to divide `H*d`. */
function to4d(data: Float32Array, dims: number[], heads: number): Tensor {
  const [B, S, W] = dims as [number, number, number];
  const d = W / heads;
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) for (let h = 0; h < heads; h++) for (let i = 0; i < d; i++) out[((b * heads + h) * S + s) * d + i] = data[(b * S + s) * W + h * d + i]!;
  return { data: out, shape: [B, heads, S, d] };
}

/** Reads one ONNX test directory (model.onnx + test_data_set_0). */
export function readOnnxTestCase(dir: string): OnnxPeerCase {
  const name = dir.split(/[\\/]/).pop()!;
  const model = readModel(readRegularFileBytes(join(dir, 'model.onnx')));
  const node = model.graph.nodes[0];
  if (!node || node.opType !== 'Attention' || model.graph.nodes.length !== 1) throw new MhaError(MhaErrorCode.InvalidType, `${name}/model.onnx`, node?.opType, 'expected one Attention node');
  const data = join(dir, 'test_data_set_0');
  const byName = new Map<string, OnnxTensor>();
  model.graph.inputs.forEach((vi, i) => byName.set(vi.name, readTensorProto(readRegularFileBytes(join(data, `input_${i}.pb`)))));
  const outputs = new Map<string, OnnxTensor>();
  model.graph.outputs.forEach((vi, i) => outputs.set(vi.name, readTensorProto(readRegularFileBytes(join(data, `output_${i}.pb`)))));
  // Tensors are matched to node slots by name: optional slots may be empty strings.
  const slot = (i: number) => (node.inputs[i] ? byName.get(node.inputs[i]!) : undefined);
  const outSlot = (i: number) => (node.outputs[i] ? outputs.get(node.outputs[i]!) : undefined);
  const attr = (key: string, fallback: number) => {
    const a = node.attributes[key];
    return a && (a.kind === 'int' || a.kind === 'float') ? a.value : fallback;
  };
  const required = (i: number, what: string) => {
    const t = slot(i);
    if (!t) throw new MhaError(MhaErrorCode.InvalidType, `${name}/model.onnx: Attention input ${i} (${what})`, node.inputs[i], 'missing');
    return t;
  };
  const Q = required(0, 'Q');
  const K = required(1, 'K');
  const V = required(2, 'V');
  const Y = outSlot(0);
  if (!Y) throw new MhaError(MhaErrorCode.InvalidType, `${name}/model.onnx: Attention output 0 (Y)`, node.outputs[0], 'missing');
  const mask = slot(3);
  const half = Q.type === 'float16';
  const pastK = slot(4);
  const pastV = slot(5);
  const nonpad = slot(6);
  const mode = attr('qk_matmul_output_mode', 0);
  if (![0, 1, 2, 3].includes(mode)) throw new MhaError(MhaErrorCode.InvalidType, `${name}/model.onnx: attribute qk_matmul_output_mode`, mode, 'expected 0 to 3');
  const qk = outSlot(3);
  if (nonpad && !(nonpad.data instanceof BigInt64Array || nonpad.data instanceof Int32Array)) throw new MhaError(MhaErrorCode.InvalidType, `${name}: nonpad_kv_seqlen`, nonpad.type, 'expected int64');
  // past_key/past_value and the present/qk outputs are 4D in both layouts.
  const f4 = (t: OnnxTensor | undefined): Tensor | undefined => (t ? { data: toF32(t), shape: t.dims } : undefined);
  const stages: WeightsStage[] = ['scores', 'softcapped', 'masked', 'softmax'];

  const is3d = Q.dims.length === 3;
  for (const [t, what] of [[Q, 'Q'], [K, 'K'], [V, 'V'], [Y, 'Y']] as const) {
    if (t.dims.length !== Q.dims.length || (t.dims.length !== 3 && t.dims.length !== 4)) throw new MhaError(MhaErrorCode.InvalidShape, `${name}: ${what}.dims`, t.dims, `expected rank ${is3d ? 3 : 4} like Q (rank 3 or 4)`);
  }
  // 3D inputs carry heads in attributes; without them the head split is undefined (0 would give NaN sizes).
  const headsAttr = (key: string, width: number) => {
    if (!is3d) return 0;
    const a = node.attributes[key];
    if (!a || a.kind !== 'int') throw new MhaError(MhaErrorCode.InvalidType, `${name}/model.onnx: attribute ${key}`, a?.kind, 'a 3D Attention node needs it as an int');
    if (!Number.isSafeInteger(a.value) || a.value < 1 || width % a.value !== 0) throw new MhaError(MhaErrorCode.InvalidShape, `${name}/model.onnx: attribute ${key}`, a.value, `must be a positive divisor of the hidden size ${width}`);
    return a.value;
  };
  const qHeads = headsAttr('q_num_heads', Q.dims[2]!);
  const kvHeads = headsAttr('kv_num_heads', K.dims[2]!);
  if (is3d && V.dims[2]! % kvHeads !== 0) throw new MhaError(MhaErrorCode.InvalidShape, `${name}: V.dims[2]`, V.dims[2], `not divisible by kv_num_heads ${kvHeads}`);
  const q = is3d ? to4d(toF32(Q), Q.dims, qHeads) : { data: toF32(Q), shape: Q.dims };
  const k = is3d ? to4d(toF32(K), K.dims, kvHeads) : { data: toF32(K), shape: K.dims };
  const v = is3d ? to4d(toF32(V), V.dims, kvHeads) : { data: toF32(V), shape: V.dims };
  const expected = is3d ? to4d(toF32(Y), Y.dims, qHeads) : { data: toF32(Y), shape: Y.dims };

  const softcap = attr('softcap', 0);
  const scaleAttr = node.attributes.scale;
  const options: AttentionOptions = {
    causal: attr('is_causal', 0) === 1,
    scale: scaleAttr && scaleAttr.kind === 'float' ? scaleAttr.value : undefined,
    softcap: softcap > 0 ? softcap : undefined,
    mask: mask
      ? mask.type === 'bool'
        ? { kind: 'bool', data: mask.data as Uint8Array, shape: mask.dims }
        : { kind: 'additive', data: toF32(mask), shape: mask.dims }
      : undefined,
    pastKey: f4(pastK),
    pastValue: f4(pastV),
    nonpadKvSeqlen: nonpad ? Array.from(nonpad.data as BigInt64Array | Int32Array, Number) : undefined,
    returnWeights: qk !== undefined,
    weightsStage: qk ? stages[mode] : undefined,
  };
  // Needs follow what core hands the kernel (past prepended, position rules folded into a mask).
  const needs: Capability[] = requiredCapabilities(lowerAttention(validateAttention(q, k, v, options)));
  return {
    name,
    opset: model.opset,
    mode,
    needs,
    q,
    k,
    v,
    options,
    expected,
    expectedWeights: f4(qk),
    expectedPresentKey: f4(outSlot(1)),
    expectedPresentValue: f4(outSlot(2)),
    half,
  };
}

/** Every case directory under `dir` (names starting with `test_`, `_expanded` twins excluded), sorted. */
export function readOnnxTestCases(dir: string): OnnxPeerCase[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('test_') && !n.includes('_expanded'))
    .sort()
    .map((n) => readOnnxTestCase(join(dir, n)));
}
