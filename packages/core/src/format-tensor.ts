import type { Tensor } from './tensor.js';
import { numel } from './tensor.js';

/** Print options, named and defaulted like `torch.set_printoptions`. */
export interface FormatTensorOptions {
  /** Digits after the decimal point (fixed) or of the mantissa (scientific). Default 4. */
  readonly precision?: number;
  /** Above this many elements, only `edgeitems` rows/columns at each end of every dim are printed. Default 1000. */
  readonly threshold?: number;
  /** Items kept at each end of an elided dim. Default 3. */
  readonly edgeitems?: number;
  /** Characters per line before a row wraps. Default 80. */
  readonly linewidth?: number;
  /** Force (`true`) or forbid (`false`) scientific notation; `undefined` chooses like torch. */
  readonly sciMode?: boolean | undefined;
  /** Append `shape=[..]` and `dtype=..` (default true). `false` prints exactly what torch prints for a float32 tensor. */
  readonly suffix?: boolean;
}

type Resolved = Required<Omit<FormatTensorOptions, 'sciMode'>> & { readonly sciMode: boolean | undefined };
const DEFAULTS: Resolved = { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: undefined, suffix: true };

/**
 * A tensor as text, laid out like PyTorch 1.13's `repr`: fixed precision (or scientific notation when
 * the magnitudes call for it, by torch's rules), every element padded to one width, nested brackets
 * with a blank line between blocks, rows wrapped at `linewidth`, and the middle elided with `...` when
 * the tensor has more than `threshold` elements.
 *
 * How close to torch: the bracketed body is torch's, character for character (tested against strings
 * PyTorch 1.13 printed, including its round-half-to-even ties, `-0.0000`, `nan`/`inf` and integer mode
 * `1.`). Where torch prints `dtype=torch.float64` only for non-default dtypes, this always ends with
 * `shape=[..], dtype=float32|float64` (JavaScript has no default dtype and the shape is what you debug),
 * placed and wrapped by torch's own suffix rule. `{ suffix: false }` drops them, which is exactly
 * torch's output for a float32 tensor.
 *
 * @example
 * formatTensor({ data: new Float32Array([1, 2.5, -3, 4]), shape: [2, 2] });
 * // tensor([[ 1.0000,  2.5000],
 * //         [-3.0000,  4.0000]], shape=[2, 2], dtype=float32)
 */
export function formatTensor(t: Tensor<Float32Array | Float64Array>, options: FormatTensorOptions = {}): string {
  const o: Resolved = { ...DEFAULTS, ...options };
  const shape = t.shape;
  const n = numel(shape);
  if (t.data.length !== n) throw new RangeError(`formatTensor: ${t.data.length} elements for shape [${shape.join(', ')}]`);
  const indent = 'tensor('.length;
  let body: string;
  if (n === 0) body = '[]';
  else {
    const summarize = n > o.threshold;
    const fmt = makeFormatter(summarizedValues(t.data, shape, summarize, o.edgeitems), o);
    body = render(t.data, shape, 0, 0, indent, summarize, fmt, o);
  }
  const dtype = t.data instanceof Float64Array ? 'float64' : 'float32';
  return addSuffixes(`tensor(${body}`, o.suffix ? [`shape=[${shape.join(', ')}]`, `dtype=${dtype}`] : [], indent, o.linewidth);
}

/** torch's `_add_suffixes`, including how it measures the last line. */
function addSuffixes(text: string, suffixes: readonly string[], indent: number, linewidth: number): string {
  let out = text;
  let last = text.length - text.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (last + s.length + 2 > linewidth) {
      out += `,\n${' '.repeat(indent)}${s}`;
      last = indent + s.length;
    } else {
      out += `, ${s}`;
      last += s.length + 2;
    }
  }
  return `${out})`;
}

/** The elements torch's formatter sees: with elision, only the edge items of every dim. */
function summarizedValues(data: ArrayLike<number>, shape: readonly number[], summarize: boolean, edge: number): number[] {
  if (!summarize) return Array.from(data);
  const out: number[] = [];
  const walk = (dim: number, offset: number) => {
    const size = shape[dim] ?? 1;
    const stride = numel(shape.slice(dim + 1));
    const idx = size > 2 * edge ? [...range(0, edge), ...range(size - edge, size)] : range(0, size);
    for (const i of idx) {
      if (dim === shape.length - 1) out.push(data[offset + i]!);
      else walk(dim + 1, offset + i * stride);
    }
  };
  if (shape.length === 0) out.push(data[0]!);
  else walk(0, 0);
  return out;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}

interface Formatter {
  readonly width: number;
  format(v: number): string;
}

/** torch's `_Formatter`: chooses integer, fixed or scientific mode and one width from the values. */
function makeFormatter(values: readonly number[], o: Resolved): Formatter {
  const p = o.precision;
  let intMode = true;
  let sciMode = false;
  let width = 1;
  const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
  if (finite.length > 0) {
    const abs = finite.map(Math.abs);
    const max = Math.max(...abs);
    const min = Math.min(...abs);
    intMode = finite.every((v) => v === Math.ceil(v));
    const measure = (f: (v: number) => string, extra = 0) => {
      for (const v of finite) width = Math.max(width, f(v).length + extra);
    };
    if (intMode) {
      if (max / min > 1000 || max > 1e8) {
        sciMode = true;
        measure((v) => sci(v, p));
      } else measure((v) => fixed(v, 0), 1);
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      sciMode = true;
      measure((v) => sci(v, p));
    } else measure((v) => fixed(v, p));
    // torch honours a forced mode only when some value is nonzero and finite.
    if (o.sciMode !== undefined) sciMode = o.sciMode;
  }
  const format = (v: number) => {
    let s: string;
    if (sciMode) s = sci(v, p);
    else if (intMode) s = fixed(v, 0) + (Number.isFinite(v) ? '.' : '');
    else s = fixed(v, p);
    return s.padStart(width);
  };
  return { width, format };
}

function render(data: ArrayLike<number>, shape: readonly number[], dim: number, offset: number, indent: number, summarize: boolean, f: Formatter, o: Resolved): string {
  if (shape.length === 0) return f.format(data[0]!);
  const size = shape[dim]!;
  const elide = summarize && size > 2 * o.edgeitems;
  const idx = elide ? [...range(0, o.edgeitems), -1, ...range(size - o.edgeitems, size)] : range(0, size);
  if (dim === shape.length - 1) {
    const perLine = Math.max(1, Math.floor((o.linewidth - indent) / (f.width + 2)));
    const items = summarize && o.edgeitems === 0 ? ['...'] : idx.map((i) => (i < 0 ? ' ...' : f.format(data[offset + i]!)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  }
  const stride = numel(shape.slice(dim + 1));
  const slices = idx.map((i) => (i < 0 ? '...' : render(data, shape, dim + 1, offset + i * stride, indent + 1, summarize, f, o)));
  const rank = shape.length - dim;
  return `[${slices.join(`,${'\n'.repeat(rank - 1)}${' '.repeat(indent + 1)}`)}]`;
}

/** Python's `'{:.pf}'.format(v)`: correctly rounded, ties to even, `-0`, `nan`, `inf`. */
function fixed(v: number, p: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const a = Math.abs(v);
  if (a >= 1e21) return `${sign}${BigInt(a).toString()}${p > 0 ? `.${'0'.repeat(p)}` : ''}`;
  return sign + tieToEven(a.toFixed(p), a.toFixed(Math.min(100, p + 30)), p);
}

/** Python's `'{:.pe}'.format(v)`: like {@link fixed}, exponent with a sign and at least two digits. */
function sci(v: number, p: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const a = Math.abs(v);
  const [mant, exp] = a.toExponential(p).split('e') as [string, string];
  const [longMant, longExp] = a.toExponential(Math.min(100, p + 30)).split('e') as [string, string];
  // When rounding carried into the exponent (9.5 -> 1e+1) the kept digit was an odd 9: JS is right.
  const m = longExp === exp ? tieToEven(mant, longMant, p) : mant;
  const e = Number(exp);
  const es = String(Math.abs(e)).padStart(2, '0');
  return `${sign}${m}e${e < 0 ? '-' : '+'}${es}`;
}

/**
 * JavaScript rounds exact ties away from zero; Python (and torch) to even. `rounded` has p fraction
 * digits, `long` the exact expansion (enough digits to show whether the rest is exactly 5000...).
 */
function tieToEven(rounded: string, long: string, p: number): string {
  const point = long.indexOf('.');
  const cut = point < 0 ? long.length : point + (p > 0 ? p + 1 : 0);
  const rest = point < 0 ? '' : long.slice(point + p + 1);
  if (!/^50*$/.test(rest)) return rounded;
  const truncated = long.slice(0, cut).replace(/\.$/, '');
  const lastDigit = Number(truncated[truncated.length - 1]);
  return lastDigit % 2 === 0 ? truncated : rounded;
}
