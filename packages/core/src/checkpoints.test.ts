import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type MhaConfig } from './config.js';
import { detectLayouts, fromTorchStateDict, type TorchLayout } from './convert.js';
import { isMhaError, MhaErrorCode } from './errors.js';
import { referenceForward } from './reference/forward.js';
import { readSafetensors } from './safetensors.js';
import { fromTorchAttnMask, fromTorchKeyPaddingMask } from './torch-masks.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'checkpoints');

function decode(t: { shape: number[]; data: string }): { data: Float32Array; shape: number[] } {
  const bytes = Buffer.from(t.data, 'base64');
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(4 * i);
  return { data, shape: t.shape };
}

interface CheckpointFixture {
  id: string;
  layout: TorchLayout;
  prefix: string;
  file: string;
  fileDtype: string;
  config: MhaConfig;
  stateDict: Record<string, { shape: number[]; data: string }>;
  inputs: { x: { shape: number[]; data: string }; key?: { shape: number[]; data: string }; value?: { shape: number[]; data: string } };
  options: { attentionMask?: { shape: number[]; data: string } };
  expected: { output: { shape: number[]; data: string } };
}

const IDS = ['gpt2-tiny', 'bert-tiny', 'llama-tiny', 't5-tiny', 'vit-tiny'];

function errorOf(f: () => unknown): { code: string; field: string } | undefined {
  try {
    f();
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  return undefined;
}

describe('safetensors checkpoints from torch (fixtures/checkpoints)', () => {
  for (const id of IDS) {
    it(`${id}: the .safetensors file equals the state_dict JSON, its layout is detected, and the module reproduces torch`, () => {
      const f = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as CheckpointFixture;
      const { tensors } = readSafetensors(readFileSync(join(dir, f.file)));
      expect(Object.keys(tensors).sort()).toEqual(Object.keys(f.stateDict).sort());
      for (const [k, t] of Object.entries(f.stateDict)) {
        expect(tensors[k]!.dtype).toBe(f.fileDtype);
        expect(tensors[k]!.shape).toEqual(t.shape);
        expect(Array.from(tensors[k]!.data)).toEqual(Array.from(decode(t).data));
      }
      expect(detectLayouts(tensors)).toContainEqual({ layout: f.layout, prefix: f.prefix });
      const cfg = resolveConfig(f.config);
      const fromFile = fromTorchStateDict(f.layout, cfg, tensors, { prefix: f.prefix });
      const fromJson = fromTorchStateDict(f.layout, cfg, Object.fromEntries(Object.entries(f.stateDict).map(([k, t]) => [k, decode(t)])), { prefix: f.prefix });
      expect(fromFile).toEqual(fromJson);
      const options = {
        ...(f.options.attentionMask ? { keyPaddingMask: { kind: 'bool' as const, data: Uint8Array.from(decode(f.options.attentionMask).data), shape: f.options.attentionMask.shape } } : {}),
        ...(f.inputs.key && f.inputs.value ? { key: decode(f.inputs.key), value: decode(f.inputs.value) } : {}),
      };
      const ref = referenceForward(cfg, fromFile, decode(f.inputs.x), options);
      const want = decode(f.expected.output).data;
      const m = Math.max(1, ...Array.from(want, Math.abs));
      ref.output.data.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(2e-6 * m + 1e-4 * Math.abs(want[i]!)));
    });
  }

  it('a GPT-2 state_dict without the prefix names the prefix in the error', () => {
    const f = JSON.parse(readFileSync(join(dir, 'gpt2-tiny.json'), 'utf8')) as CheckpointFixture;
    const { tensors } = readSafetensors(readFileSync(join(dir, f.file)));
    let message = '';
    try {
      fromTorchStateDict('gpt2', f.config, tensors);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("prefix: 'transformer.h.0.attn.'");
  });
});

/** A safetensors file from a header object and data bytes. */
function file(header: unknown, data = new Uint8Array(0), lengthOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, lengthOverride ?? h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('readSafetensors', () => {
  it('converts F16 and BF16 exactly and F32 as is', () => {
    const data = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0x40, 0xc0, 0, 0, 0x80, 0x3e]);
    const { tensors, metadata } = readSafetensors(file({ __metadata__: { a: 'b' }, h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] }, f: { dtype: 'F32', shape: [], data_offsets: [8, 12] } }, data).buffer as ArrayBuffer);
    expect(Array.from(tensors.h!.data)).toEqual([1, -2]);
    expect(Array.from(tensors.b!.data)).toEqual([1, -3]);
    expect(Array.from(tensors.f!.data)).toEqual([0.25]);
    expect(metadata).toEqual({ a: 'b' });
  });

  const bad: [string, Uint8Array, string, string][] = [
    ['short file', new Uint8Array(3), MhaErrorCode.InvalidType, 'safetensors.header'],
    ['header past the end', file({}, new Uint8Array(0), 99), MhaErrorCode.InvalidType, 'safetensors.header'],
    ['not JSON', file('{nope'), MhaErrorCode.InvalidType, 'safetensors.header'],
    ['an array header', file([]), MhaErrorCode.InvalidType, 'safetensors.header'],
    ['an integer dtype', file({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), MhaErrorCode.Unsupported, 'safetensors.t.dtype'],
    ['no dtype', file({ t: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), MhaErrorCode.InvalidType, 'safetensors.t.dtype'],
    ['a bad shape', file({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), MhaErrorCode.InvalidShape, 'safetensors.t.shape'],
    ['reversed offsets', file({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), MhaErrorCode.InvalidType, 'safetensors.t.data_offsets'],
    ['offsets past the data', file({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), MhaErrorCode.InvalidType, 'safetensors.t.data_offsets'],
    ['size not matching the shape', file({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)), MhaErrorCode.ShapeMismatch, 'safetensors.t.data_offsets'],
    ['overlapping tensors', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), MhaErrorCode.InvalidType, 'safetensors.b.data_offsets'],
    ['metadata not strings', file({ __metadata__: { a: 1 } }), MhaErrorCode.InvalidType, 'safetensors.__metadata__'],
  ];
  for (const [name, bytes, code, field] of bad) {
    it(`refuses ${name} with ${code} at ${field}`, () => expect(errorOf(() => readSafetensors(bytes))).toEqual({ code, field }));
  }
  it('refuses something that is not bytes', () => expect(errorOf(() => readSafetensors('file' as never))).toEqual({ code: MhaErrorCode.InvalidType, field: 'safetensors' }));
});

describe('torch mask adapters', () => {
  it('flip bool polarity (torch True = blocked, SPEC 1 = attend) and keep float masks', () => {
    expect(fromTorchKeyPaddingMask([[false, true], [false, false]])).toEqual({ kind: 'bool', data: Uint8Array.from([1, 0, 1, 1]), shape: [2, 2] });
    expect(fromTorchKeyPaddingMask({ data: Uint8Array.from([0, 1]), shape: [1, 2] }).data).toEqual(Uint8Array.from([1, 0]));
    const add = fromTorchAttnMask([[0, -Infinity], [0.5, 0]]);
    expect(add.kind).toBe('additive');
    expect(Array.from(add.data)).toEqual([0, -Infinity, 0.5, 0]);
  });
  it('reshape a 3-D [B*heads, Tq, Tk] attn_mask to [B, heads, Tq, Tk] and need heads for it', () => {
    expect(fromTorchAttnMask({ data: new Uint8Array(12), shape: [6, 1, 2], dtype: 'bool' }, { heads: 3 }).shape).toEqual([2, 3, 1, 2]);
    expect(errorOf(() => fromTorchAttnMask({ data: new Uint8Array(12), shape: [6, 1, 2] }))).toEqual({ code: MhaErrorCode.InvalidOption, field: 'options.heads' });
    expect(errorOf(() => fromTorchAttnMask({ data: [0, 1], shape: [1, 2] }))).toEqual({ code: MhaErrorCode.InvalidOption, field: 'attnMask.dtype' });
    expect(errorOf(() => fromTorchKeyPaddingMask([[true], [1]]))).toEqual({ code: MhaErrorCode.InvalidType, field: 'keyPaddingMask' });
  });
});

describe('fromTorchStateDict: nn.MultiheadAttention with kdim/vdim (separate q/k/v_proj_weight)', () => {
  it('reads the fixture mha-cross-kdim-vdim back from torch names, biases split q | k | v', () => {
    const f = JSON.parse(readFileSync(join(dir, '..', 'module-features', 'mha-cross-kdim-vdim.json'), 'utf8')) as { config: MhaConfig; weights: Record<string, { shape: number[]; data: string }> };
    const cfg = resolveConfig(f.config);
    const w = Object.fromEntries(Object.entries(f.weights).map(([k, t]) => [k, decode(t)]));
    // torch stores [out, in]; the fixture's canonical weights are [in, out].
    const torchT = (t: { data: Float32Array; shape: number[] }) => {
      const [r, c] = t.shape as [number, number];
      const out = new Float32Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
      return { data: out, shape: [c, r] };
    };
    const sd = {
      q_proj_weight: torchT(w.wq!),
      k_proj_weight: torchT(w.wk!),
      v_proj_weight: torchT(w.wv!),
      in_proj_bias: Float32Array.from([...w.bq!.data, ...w.bk!.data, ...w.bv!.data]),
      'out_proj.weight': torchT(w.wo!),
      'out_proj.bias': w.bo!.data,
    };
    expect(sd.k_proj_weight.shape).toEqual([8, 5]);
    const got = fromTorchStateDict('torch-mha', cfg, sd);
    for (const k of ['wq', 'wk', 'wv', 'bq', 'bk', 'bv', 'wo', 'bo'] as const) expect(Array.from(got[k]!), k).toEqual(Array.from(w[k]!.data));
  });

  it('t5 layout: q/k/v/o without biases, relative_attention_bias refused with a pointer to masks', () => {
    const cfg = resolveConfig({ dIn: 4, heads: 2, headDim: 2, outProjBias: false, scale: 1 });
    const lin = (seed: number) => ({ data: Float32Array.from({ length: 16 }, (_, i) => (i * seed) % 7), shape: [4, 4] });
    const sd = { 'q.weight': lin(1), 'k.weight': lin(2), 'v.weight': lin(3), 'o.weight': lin(5) };
    const got = fromTorchStateDict('t5', cfg, sd);
    expect(got.wq[1]).toBe(sd['q.weight'].data[4]); // canonical [in, out][0][1] = torch [out, in][1][0]
    expect(errorOf(() => fromTorchStateDict('t5', cfg, { ...sd, 'relative_attention_bias.weight': lin(1) }))).toEqual({ code: MhaErrorCode.Unsupported, field: 'relative_attention_bias.weight' });
    expect(detectLayouts({ 'encoder.block.0.layer.0.SelfAttention.q.weight': lin(1) })).toEqual([{ layout: 't5', prefix: 'encoder.block.0.layer.0.SelfAttention.' }]);
  });
});
