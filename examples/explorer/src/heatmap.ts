/**
 * Attention heatmaps as DOM grids: one cell per (query, key), its colour a function of the weight,
 * the exact weight in `data-weight` (what the browser test checks) and on hover. Masked cells (causal
 * or a mask) are hatched grey, so they never look like a small weight (near white).
 */

/** Weight in [0, 1] -> white to deep blue. Exported for the pixel test. */
export function weightColour(w: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, w));
  return [Math.round(255 - 227 * t), Math.round(255 - 170 * t), Math.round(255 - 75 * t)];
}

/** |difference| -> white to red on a log scale from 1e-9 to 1e-1 (0 stays white). */
export function diffColour(d: number): [number, number, number] {
  if (!Number.isFinite(d)) return [200, 0, 200];
  if (d <= 1e-9) return [255, 255, 255];
  const t = Math.min(1, (Math.log10(d) + 9) / 8);
  return [Math.round(255 - 55 * t), Math.round(255 - 235 * t), Math.round(255 - 235 * t)];
}

const rgb = (c: [number, number, number]) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

export interface HeatmapSpec {
  readonly title: string;
  /** Row-major rows x cols values. */
  readonly values: ArrayLike<number>;
  readonly rows: readonly string[];
  readonly cols: readonly string[];
  /** True where the cell is masked out (drawn hatched, value shown as 'masked'). */
  readonly masked?: (i: number, j: number) => boolean;
  readonly kind?: 'weight' | 'diff';
  /** Extra data attributes on the grid (e.g. which backend/head). */
  readonly data?: Readonly<Record<string, string>>;
}

/** Size of one cell in CSS pixels for `n` columns (kept readable up to ~32 tokens). */
export function cellSize(n: number): number {
  return Math.max(12, Math.min(34, Math.floor(420 / Math.max(1, n))));
}

export function heatmap(spec: HeatmapSpec): HTMLElement {
  const { rows, cols, values } = spec;
  const size = cellSize(cols.length);
  const wrap = document.createElement('figure');
  wrap.className = 'heatmap';
  const cap = document.createElement('figcaption');
  cap.textContent = spec.title;
  wrap.append(cap);
  const grid = document.createElement('div');
  grid.className = 'grid';
  for (const [k, v] of Object.entries(spec.data ?? {})) grid.dataset[k] = v;
  grid.style.gridTemplateColumns = `max-content repeat(${cols.length}, ${size}px)`;
  grid.append(document.createElement('span'));
  for (const c of cols) {
    const l = document.createElement('span');
    l.className = 'col-label';
    l.textContent = c;
    grid.append(l);
  }
  for (let i = 0; i < rows.length; i++) {
    const l = document.createElement('span');
    l.className = 'row-label';
    l.textContent = rows[i]!;
    grid.append(l);
    for (let j = 0; j < cols.length; j++) {
      const v = values[i * cols.length + j]!;
      const cell = document.createElement('div');
      cell.className = 'cell';
      cell.style.height = `${size}px`;
      cell.dataset.i = String(i);
      cell.dataset.j = String(j);
      cell.dataset.weight = String(v);
      const masked = spec.masked?.(i, j) ?? false;
      if (masked) {
        cell.classList.add('masked');
        cell.dataset.masked = '1';
      } else cell.style.background = rgb(spec.kind === 'diff' ? diffColour(v) : weightColour(v));
      const what = spec.kind === 'diff' ? '|difference|' : 'weight';
      cell.dataset.tip = `${rows[i]} -> ${cols[j]}: ${masked ? `masked (${what} ${v})` : `${what} ${v}`}`;
      grid.append(cell);
    }
  }
  wrap.append(grid);
  return wrap;
}

/** One shared tooltip showing the hovered cell's exact value. */
export function installTooltip(tip: HTMLElement): void {
  document.addEventListener('mouseover', (e) => {
    const cell = (e.target as HTMLElement).closest<HTMLElement>('.cell');
    if (!cell?.dataset.tip) {
      tip.hidden = true;
      return;
    }
    tip.textContent = cell.dataset.tip;
    const r = cell.getBoundingClientRect();
    tip.style.left = `${r.right + window.scrollX + 6}px`;
    tip.style.top = `${r.top + window.scrollY - 4}px`;
    tip.hidden = false;
  });
}

/** The colour scale, for the legend. */
export function legend(): HTMLElement {
  const el = document.createElement('span');
  el.className = 'legend';
  for (const w of [0, 0.25, 0.5, 0.75, 1]) {
    const s = document.createElement('span');
    s.className = 'swatch';
    s.style.background = rgb(weightColour(w));
    el.append(s, ` ${w} `);
  }
  const m = document.createElement('span');
  m.className = 'swatch masked';
  el.append(m, ' masked');
  return el;
}
