import { isMhaError, type MhaBackend, type Tensor } from '@mha/core';
import type { CaseResult } from './suite.js';

/** A known bug class the failure pattern points to, with what to look at. */
export interface LikelyCause {
  readonly bug: 'causal-off-by-one' | 'causal-ignored' | 'causal-wrong' | 'no-scale' | 'wrong-scale' | 'unstable-softmax' | 'merge-order';
  readonly hint: string;
}

/**
 * What three tiny core-op calls measured (each `undefined` when the call threw, which is reported by
 * the cases themselves). They separate bug classes that fail the same set of cases.
 */
export interface Probes {
  /** Causal self-attention over 5 equal scores: how many keys each query row gave weight > 0 (correct: 1..5). */
  readonly causalVisible?: readonly number[] | undefined;
  /** The factor the backend applied to q.k with the default scale (correct: 1/sqrt(4) = 0.5). */
  readonly scale?: number | undefined;
  /** Whether scores of 1000 gave a finite result (correct: true; exp(1000) overflows without the max subtraction). */
  readonly largeLogitsFinite?: boolean | undefined;
}

const DK = 4;
const T = 5;

function rows(t: number, d: number, fill: (i: number, j: number) => number): Tensor {
  return { data: Float32Array.from({ length: t * d }, (_, n) => fill(Math.floor(n / d), n % d)), shape: [1, 1, t, d] };
}

async function attempt<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch {
    return undefined;
  }
}

/** Runs the probes on a backend's core op (no capability needed: self-attention, one head, dk = dv). */
export async function probe(backend: MhaBackend): Promise<Probes> {
  const causalVisible = await attempt(async () => {
    const zero = rows(T, DK, () => 0);
    const r = await backend.attention(zero, zero, rows(T, DK, (i) => i), { causal: true, returnWeights: true });
    const w = r.weights!.data;
    return Array.from({ length: T }, (_, i) => w.subarray(i * T, (i + 1) * T).filter((x) => x > 0).length);
  });
  // Two keys, scores c * scale and 0: the first weight is sigmoid(c * scale), which gives the scale back.
  const scale = await attempt(async () => {
    const c = 1;
    const q = rows(2, DK, (_i, j) => (j === 0 ? 1 : 0));
    const k = rows(2, DK, (i, j) => (i === 0 && j === 0 ? c : 0));
    const r = await backend.attention(q, k, rows(2, DK, () => 0), { returnWeights: true });
    const w0 = r.weights!.data[0]!;
    return Math.log(w0 / (1 - w0)) / c;
  });
  let largeLogitsFinite: boolean | undefined;
  try {
    const q = rows(2, DK, (_i, j) => (j === 0 ? 1 : 0));
    const k = rows(2, DK, (i, j) => (j === 0 ? 2000 * (1 - i) : 0));
    const r = await backend.attention(q, k, rows(2, DK, (i) => i + 1));
    largeLogitsFinite = r.output.data.every(Number.isFinite);
  } catch (e) {
    // Core refuses a non-finite result from finite inputs with MHA_OVERFLOW: the same finding.
    if (isMhaError(e) && (e.code as string) === 'MHA_OVERFLOW') largeLogitsFinite = false;
  }
  return { causalVisible, scale, largeLogitsFinite };
}

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b));

/**
 * Names the known bug classes that the failures and the probes point to (empty when nothing failed
 * or nothing matches). Proven against the deliberately broken backends in `meta-report.test.ts`.
 */
export function likelyCauses(results: readonly CaseResult[], probes: Probes): LikelyCause[] {
  const failed = results.filter((r) => r.status === 'fail');
  if (failed.length === 0) return [];
  const causes: LikelyCause[] = [];
  const v = probes.causalVisible;
  if (v && v.some((n, i) => n !== i + 1)) {
    if (v.every((n, i) => n === Math.min(T, i + 2))) causes.push({ bug: 'causal-off-by-one', hint: 'causal mask off by one: query i also sees key i+1 (mask keys j > i, not j > i+1)' });
    else if (v.every((n) => n === T)) causes.push({ bug: 'causal-ignored', hint: 'causal mask ignored: every query sees every key (is the causal flag passed to the kernel?)' });
    else causes.push({ bug: 'causal-wrong', hint: `causal mask wrong: query rows 0..${T - 1} see ${v.join(', ')} keys, expected 1..${T}` });
  }
  const s = probes.scale;
  if (s !== undefined && Number.isFinite(s) && !near(s, 1 / Math.sqrt(DK))) {
    if (near(s, 1)) causes.push({ bug: 'no-scale', hint: 'missing scale: scores are q.k instead of q.k / sqrt(head dim)' });
    else if (near(s, 1 / DK)) causes.push({ bug: 'wrong-scale', hint: 'scale 1/head dim instead of 1/sqrt(head dim)' });
    else causes.push({ bug: 'wrong-scale', hint: `scores scaled by ${Number(s.toPrecision(3))} where 1/sqrt(head dim) = ${1 / Math.sqrt(DK)} was expected` });
  }
  if (probes.largeLogitsFinite === false) causes.push({ bug: 'unstable-softmax', hint: 'unstable softmax: large scores overflow exp (subtract the row max before exp)' });
  // Merging heads in the wrong order leaves the core op right: only module cases with more than one head fail.
  const coreOpFailed = failed.some((r) => /^(numeric\/core-op|numeric\/golden\/attention-|onnx-peer\/|causal-mask\/core-op)/.test(r.id));
  const headSplitFailed = failed.some((r) => /^head-split\/(concat-single-heads|permute-heads|head-slice-vs-core-op)\//.test(r.id));
  if (causes.length === 0 && headSplitFailed && !coreOpFailed) {
    causes.push({ bug: 'merge-order', hint: 'heads merged in the wrong order: concatenate head outputs head-major ([T, H, dh] -> [T, H*dh]), not [T, dh, H]' });
  }
  return causes;
}
