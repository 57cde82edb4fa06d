import { formatShape } from '@mha/core';

/** Element-wise tolerance: `|actual - expected| <= atol + rtol * |expected|` (numpy `allclose`). */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** What one comparison measured; `worst` is the element that used most of its tolerance. */
export interface Comparison {
  readonly ok: boolean;
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly worst?: { index: number; position: number[]; expected: number; actual: number } | undefined;
  /** `|diff| / (atol + rtol * |expected|)` of the worst element: 1 is exactly at the tolerance (0 when empty). */
  readonly ratio?: number | undefined;
  /** The tolerance this comparison used. */
  readonly tolerance?: Tolerance | undefined;
  readonly message?: string | undefined;
  /** On a failed comparison of a matrix (rank >= 2): the errors around the worst element, for a heatmap. */
  readonly errorMap?: ErrorMap | undefined;
}

/**
 * A window of the last two dims of a compared tensor, at the worst element's leading indices: each cell
 * is `|diff| / allowed` (1 = at the tolerance; Infinity for NaN or a non-finite mismatch). At most
 * {@link ERROR_MAP_MAX} x {@link ERROR_MAP_MAX} cells, cropped around the worst element.
 */
export interface ErrorMap {
  /** The shape of the compared tensor. */
  readonly shape: readonly number[];
  /** The indices of the dims before the last two (the worst element's). */
  readonly lead: readonly number[];
  readonly rowStart: number;
  readonly colStart: number;
  readonly rows: number;
  readonly cols: number;
  /** Row-major `rows * cols` ratios. */
  readonly cells: readonly number[];
}

/** The largest side of an {@link ErrorMap}. */
export const ERROR_MAP_MAX = 48;

function errorMap(actual: ArrayLike<number>, expected: ArrayLike<number>, shape: readonly number[], position: readonly number[], tol: Tolerance): ErrorMap | undefined {
  const r = shape.length;
  if (r < 2) return undefined;
  const R = shape[r - 2]!;
  const C = shape[r - 1]!;
  const window = (n: number, at: number) => {
    const size = Math.min(n, ERROR_MAP_MAX);
    return [Math.min(Math.max(0, at - Math.floor(size / 2)), n - size), size] as const;
  };
  const [rowStart, rows] = window(R, position[r - 2]!);
  const [colStart, cols] = window(C, position[r - 1]!);
  const lead = position.slice(0, r - 2);
  let base = 0;
  for (let d = 0; d < r - 2; d++) base = base * shape[d]! + lead[d]!;
  base *= R * C;
  const cells: number[] = [];
  for (let i = rowStart; i < rowStart + rows; i++) {
    for (let j = colStart; j < colStart + cols; j++) {
      const a = actual[base + i * C + j]!;
      const e = expected[base + i * C + j]!;
      const same = (Number.isNaN(a) && Number.isNaN(e)) || (!Number.isFinite(e) && a === e);
      const diff = Math.abs(a - e);
      cells.push(same ? 0 : Number.isNaN(diff) ? Infinity : diff / (tol.atol + tol.rtol * Math.abs(e)));
    }
  }
  return { shape: [...shape], lead, rowStart, colStart, rows, cols, cells };
}

/** A tolerance or error for messages: 3 significant digits (tolerances are often scaled by a magnitude). */
export function round3(x: number): string {
  return Number.isFinite(x) && x !== 0 ? String(Number(x.toPrecision(3))) : String(x);
}

function unravel(index: number, shape: readonly number[]): number[] {
  const pos: number[] = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    pos[d] = n === 0 ? 0 : index % n;
    index = n === 0 ? 0 : Math.floor(index / n);
  }
  return pos;
}

/**
 * Compares shape first, then values. `maxRel` is `|diff| / max(|expected|, atol / rtol)`. NaN equals NaN and equal infinities are equal (as ONNX's runner
 * does); any other non-finite mismatch fails. Relative error uses `|expected|` and skips zeros.
 */
export function compare(
  actual: { data: ArrayLike<number>; shape: readonly number[] },
  expected: { data: ArrayLike<number>; shape: readonly number[] },
  tol: Tolerance,
): Comparison {
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return { ok: false, maxAbs: Infinity, maxRel: Infinity, ratio: Infinity, tolerance: tol, message: `shape ${formatShape(actual.shape)} != expected ${formatShape(expected.shape)}` };
  }
  if (actual.data.length !== expected.data.length) {
    return { ok: false, maxAbs: Infinity, maxRel: Infinity, ratio: Infinity, tolerance: tol, message: `length ${actual.data.length} != expected ${expected.data.length}` };
  }
  let maxAbs = 0;
  let maxRel = 0;
  let worstRatio = -1;
  let worstIndex = -1;
  let ok = true;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i]!;
    const e = expected.data[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) && a === e) continue;
    const diff = Math.abs(a - e);
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    // NaN diff (a is NaN or infinite where e is not) must fail, hence the negated comparison.
    const ratio = Number.isNaN(diff) ? Infinity : diff / allowed;
    if (!(diff <= allowed)) ok = false;
    if (Number.isNaN(diff)) maxAbs = Infinity;
    else if (diff > maxAbs) maxAbs = diff;
    // Relative to |e|, floored where the absolute tolerance takes over: tiny expected values would
    // otherwise report huge relative errors that no tolerance ever asks about.
    const rel = diff / Math.max(Math.abs(e), tol.atol / tol.rtol);
    if (Number.isFinite(rel) && rel > maxRel) maxRel = rel;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  const worst =
    worstIndex >= 0
      ? { index: worstIndex, position: unravel(worstIndex, expected.shape), expected: expected.data[worstIndex]!, actual: actual.data[worstIndex]! }
      : undefined;
  return {
    ok,
    maxAbs,
    maxRel,
    worst,
    ratio: Math.max(0, worstRatio),
    tolerance: tol,
    errorMap: ok || !worst ? undefined : errorMap(actual.data, expected.data, expected.shape, worst.position, tol),
    message: ok
      ? undefined
      : `worst element ${formatShape(worst!.position)} (flat ${worst!.index}): expected ${worst!.expected}, got ${worst!.actual}; |diff| ${Math.abs(worst!.actual - worst!.expected).toExponential(2)} > atol ${round3(tol.atol)} + rtol ${round3(tol.rtol)} * |expected|`,
  };
}
