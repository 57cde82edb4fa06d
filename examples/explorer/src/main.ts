import { expectedTrace, formatTensor, isMhaError, referenceAttention, referenceForward, type MhaBackend, type ShapeTrace, type Tensor } from '@mha/core';
import { BACKENDS, getBackend } from './backends.js';
import { diffColour, heatmap, installTooltip, legend, weightColour } from './heatmap.js';
import { PRESETS, type Case } from './presets.js';
import { setupSuite } from './suite.js';
import './style.css';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What one backend produced for the current case. */
interface Run {
  readonly backend: string;
  readonly output?: Tensor | undefined;
  /** [B, H, Tq, Tk] */
  readonly weights?: Tensor | undefined;
  readonly trace?: ShapeTrace | undefined;
  readonly error?: string | undefined;
  readonly ms?: { create: number; first: number; median: number; calls: number } | undefined;
}

interface Result {
  readonly preset: string;
  readonly c: Case;
  readonly ref: { output: Tensor<Float64Array>; weights: Tensor<Float64Array> };
  readonly runs: readonly Run[];
}

let last: Result | undefined;

/** Heads drawn side by side (three heatmaps each); the error table covers every head. */
const MAX_COMPARE_HEADS = 4;

function fillSelect(sel: HTMLSelectElement, options: readonly { id: string; label: string }[], value?: string) {
  sel.replaceChildren(...options.map((o) => new Option(o.label, o.id)));
  if (value !== undefined) sel.value = value;
}

const message = (e: unknown) => (isMhaError(e) ? `${e.code} ${e.field}: ${e.message}` : e instanceof Error ? e.message : String(e));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs one backend on the case: create, first call, then a few more calls for a median. */
async function runBackend(backend: MhaBackend, c: Case): Promise<Run> {
  const name = backend.name;
  try {
    if (c.kind === 'module') {
      let t = performance.now();
      const m = await backend.createModule(c.config, c.weights);
      const create = performance.now() - t;
      try {
        t = performance.now();
        const r = await m.forward(c.x, { returnAttentionWeights: true, trace: true });
        const first = performance.now() - t;
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          t = performance.now();
          await m.forward(c.x);
          times.push(performance.now() - t);
        }
        return { backend: name, output: r.output, weights: r.attentionWeights, trace: r.trace, ms: { create, first, median: median(times), calls: times.length } };
      } finally {
        await m.dispose();
      }
    }
    const options = { causal: c.causal, mask: c.mask, returnWeights: true };
    let t = performance.now();
    const r = await backend.attention(c.q, c.k, c.v, options);
    const first = performance.now() - t;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      await backend.attention(c.q, c.k, c.v, { causal: c.causal, mask: c.mask });
      times.push(performance.now() - t);
    }
    return { backend: name, output: r.output, weights: r.weights, ms: { create: 0, first, median: median(times), calls: times.length } };
  } catch (e) {
    return { backend: name, error: message(e) };
  }
}

function reference(c: Case) {
  if (c.kind === 'module') {
    const r = referenceForward(c.config, c.weights, c.x);
    return { output: r.output, weights: r.attentionWeights };
  }
  return referenceAttention(c.q, c.k, c.v, { causal: c.causal, mask: c.mask });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Labels, size and masking of the weights' last two dims for batch item `b`. */
function layout(c: Case, b: number) {
  if (c.kind === 'module') {
    const T = c.x.shape[1]!;
    const H = c.config.heads;
    return { H, rows: c.tokens, cols: c.tokens, masked: (i: number, j: number) => c.config.causal && j > i, T, Tk: T };
  }
  const H = c.q.shape[1]!;
  const tq = c.q.shape[2]!;
  const tk = c.k.shape[2]!;
  const m = c.mask;
  // The presets' masks are [B, 1, 1, Tk] bool: key j is hidden for every query and head when 0.
  const hidden = (j: number) => (m ? m.data[(m.shape[0] === 1 ? 0 : b) * tk + j] === 0 : false);
  return { H, rows: c.queries, cols: c.keys, masked: (i: number, j: number) => (c.causal && j > i) || hidden(j), T: tq, Tk: tk };
}

/** Head h of batch item b, as a flat Tq x Tk array. */
function headSlice(w: Tensor | Tensor<Float64Array>, b: number, h: number): ArrayLike<number> {
  const [, H, tq, tk] = w.shape as [number, number, number, number];
  const size = tq * tk;
  return w.data.subarray((b * H + h) * size, (b * H + h + 1) * size);
}

function renderTrace(result: Result) {
  const el = $('trace');
  el.replaceChildren();
  const { c } = result;
  const run = result.runs.find((r) => r.trace);
  if (c.kind === 'op') {
    const [B, H, tq, dk] = c.q.shape as number[];
    const tk = c.k.shape[2]!;
    const steps: [string, string, readonly number[]][] = [
      ['q, k, v', 'inputs', c.q.shape],
      ['scores', 'q k^T * scale', [B!, H!, tq!, tk]],
      ['mask', c.causal || c.mask ? `${c.causal ? 'causal' : ''}${c.causal && c.mask ? ' + ' : ''}${c.mask ? 'bool mask' : ''}` : 'none', [B!, H!, tq!, tk]],
      ['softmax', 'weights', [B!, H!, tq!, tk]],
      ['context', 'weights v', [B!, H!, tq!, c.v.shape[3]!]],
    ];
    el.append(pipeline(steps), note(`core op: q [${c.q.shape.join(', ')}], k [${c.k.shape.join(', ')}], head dim ${dk}; the op has no module trace, these shapes follow from its inputs`));
    return;
  }
  if (!run?.trace) {
    el.append(note('no backend returned a trace'));
    return;
  }
  const t = new Map(run.trace.map((e) => [e.step, e.shape]));
  const s = (k: string) => t.get(k as never) ?? [];
  const steps: [string, string, readonly number[]][] = [
    ['input', 'x', s('input')],
    ['project', 'qkv', s('qkv')],
    ['split', 'q, k, v per head', s('q')],
    ['scores', 'q k^T * scale', s('scores')],
    ['mask', c.config.causal ? 'causal' : 'none', s('scores')],
    ['softmax', 'weights', s('weights')],
    ['context', 'weights v', s('context')],
    ['merge', 'heads -> tokens', s('merged')],
    ['output', c.config.outProj ? 'out_proj' : 'no out_proj', s('output')],
  ];
  const expected = expectedTrace(c.config, c.x.shape[0]!, c.x.shape[1]!);
  const same = JSON.stringify(expected) === JSON.stringify(run.trace);
  el.append(pipeline(steps), note(`trace reported by ${run.backend}: ${same ? 'identical to the spec (expectedTrace)' : 'DIFFERS from the spec'}; B=${c.x.shape[0]}, T=${c.x.shape[1]}, heads=${c.config.heads}, head dim=${c.config.headDim}`));
}

function pipeline(steps: readonly [string, string, readonly number[]][]): HTMLElement {
  const row = document.createElement('div');
  row.className = 'pipeline';
  steps.forEach(([name, what, shape], i) => {
    if (i > 0) {
      const arrow = document.createElement('span');
      arrow.className = 'arrow';
      arrow.textContent = '→';
      row.append(arrow);
    }
    const box = document.createElement('div');
    box.className = 'step';
    box.dataset.step = name;
    box.innerHTML = `<b></b><small></small><code></code>`;
    box.querySelector('b')!.textContent = name;
    box.querySelector('small')!.textContent = what;
    box.querySelector('code')!.textContent = `[${shape.join(', ')}]`;
    row.append(box);
  });
  return row;
}

function note(text: string): HTMLElement {
  const p = document.createElement('p');
  p.className = 'note';
  p.textContent = text;
  return p;
}

function renderHeads(result: Result, b: number) {
  const el = $('heads-a');
  el.replaceChildren();
  const run = result.runs[0]!;
  const L = layout(result.c, b);
  if (run.error || !run.weights) {
    el.append(note(`${run.backend}: ${run.error ?? 'no attention weights returned'}`));
    return;
  }
  const row = document.createElement('div');
  row.className = 'heads';
  for (let h = 0; h < L.H; h++) {
    row.append(heatmap({ title: `head ${h}`, values: headSlice(run.weights, b, h), rows: L.rows, cols: L.cols, masked: L.masked, data: { backend: run.backend, head: String(h), batch: String(b), role: 'main' } }));
  }
  el.append(row, note(`${run.backend}, batch item ${b}: rows are queries, columns keys; hover a cell for its exact weight. ${result.c.source}`));
}

function renderCompare(result: Result, b: number) {
  const el = $('compare');
  el.replaceChildren();
  const { runs, ref } = result;
  const table = document.createElement('table');
  table.className = 'errors';
  table.innerHTML = '<tr><th>backend</th><th>max |output - float64 reference|</th><th>max |weights - float64 reference|</th></tr>';
  for (const r of runs) {
    const tr = table.insertRow();
    tr.dataset.backend = r.backend;
    tr.insertCell().textContent = r.backend;
    if (r.error) {
      const td = tr.insertCell();
      td.colSpan = 2;
      td.textContent = r.error;
      continue;
    }
    tr.insertCell().textContent = r.output ? maxAbsDiff(r.output.data, ref.output.data).toExponential(2) : '-';
    tr.insertCell().textContent = r.weights ? maxAbsDiff(r.weights.data, ref.weights.data).toExponential(2) : '-';
  }
  el.append(table);
  const [a, bRun] = runs;
  if (!a || !bRun || !a.weights || !bRun.weights) {
    if (runs.length < 2) el.append(note('choose a second backend under "compare with" to see both side by side with their difference'));
    return;
  }
  const L = layout(result.c, b);
  const d = maxAbsDiff(a.weights.data, bRun.weights.data);
  el.append(note(`max |${a.backend} - ${bRun.backend}| over all weights: ${d.toExponential(2)}; over the output: ${maxAbsDiff(a.output!.data, bRun.output!.data).toExponential(2)}`));
  const shown = Math.min(L.H, MAX_COMPARE_HEADS);
  if (shown < L.H) el.append(note(`side by side for the first ${shown} of ${L.H} heads (the errors above cover all of them)`));
  for (let h = 0; h < shown; h++) {
    const wa = headSlice(a.weights, b, h);
    const wb = headSlice(bRun.weights, b, h);
    const diff = Float64Array.from(wa, (v, i) => Math.abs(v - wb[i]!));
    const row = document.createElement('div');
    row.className = 'heads';
    row.append(
      heatmap({ title: `${a.backend}, head ${h}`, values: wa, rows: L.rows, cols: L.cols, masked: L.masked, data: { backend: a.backend, head: String(h), role: 'compare-a' } }),
      heatmap({ title: `${bRun.backend}, head ${h}`, values: wb, rows: L.rows, cols: L.cols, masked: L.masked, data: { backend: bRun.backend, head: String(h), role: 'compare-b' } }),
      heatmap({ title: `|difference|, head ${h} (white 0 ... red 1e-1, log)`, values: diff, rows: L.rows, cols: L.cols, kind: 'diff', data: { head: String(h), role: 'diff' } }),
    );
    el.append(row);
  }
}

function renderOutput(result: Result) {
  const r = result.runs[0]!;
  $('output').textContent = r.output ? `${r.backend}:\n${formatTensor(r.output)}` : `${r.backend}: ${r.error ?? 'no output'}`;
}

function addTimings(result: Result) {
  const table = $<HTMLTableElement>('timings');
  if (table.rows.length === 0) table.innerHTML = '<tr><th>backend</th><th>preset</th><th>create module (ms)</th><th>first call (ms)</th><th>median of next calls (ms)</th></tr>';
  for (const r of result.runs) {
    if (!r.ms) continue;
    const tr = table.insertRow(1);
    for (const v of [r.backend, result.preset, result.c.kind === 'op' ? '- (core op)' : r.ms.create.toFixed(2), r.ms.first.toFixed(2), `${r.ms.median.toFixed(3)} (x${r.ms.calls})`]) tr.insertCell().textContent = v;
  }
}

function render(result: Result) {
  const b = Number($<HTMLSelectElement>('batch').value) || 0;
  renderTrace(result);
  renderHeads(result, b);
  renderCompare(result, b);
  renderOutput(result);
}

async function run() {
  const status = $('status');
  const button = $<HTMLButtonElement>('run');
  button.disabled = true;
  document.body.dataset.state = 'running';
  try {
    const preset = PRESETS.find((p) => p.id === $<HTMLSelectElement>('preset').value)!;
    let edited: Record<string, unknown>;
    try {
      edited = JSON.parse($<HTMLTextAreaElement>('config').value) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`config is not valid JSON: ${message(e)}`);
    }
    status.textContent = 'building...';
    const c = await preset.build(edited);
    const ids = [$<HTMLSelectElement>('backend-a').value, $<HTMLSelectElement>('backend-b').value].filter((id) => id !== '');
    const runs: Run[] = [];
    for (const id of ids) {
      status.textContent = `running ${id}...`;
      let backend: MhaBackend;
      try {
        backend = await getBackend(id);
      } catch (e) {
        runs.push({ backend: id, error: `could not load: ${message(e)}` });
        continue;
      }
      runs.push(await runBackend(backend, c));
    }
    const ref = reference(c);
    last = { preset: preset.id, c, ref, runs };
    const B = (c.kind === 'module' ? c.x : c.q).shape[0]!;
    const batchSel = $<HTMLSelectElement>('batch');
    const keep = Number(batchSel.value) < B ? batchSel.value : '0';
    fillSelect(batchSel, Array.from({ length: B }, (_, i) => ({ id: String(i), label: String(i) })), keep);
    render(last);
    addTimings(last);
    const errors = runs.filter((r) => r.error);
    status.textContent = errors.length ? `done, with errors: ${errors.map((r) => `${r.backend}: ${r.error}`).join('; ')}` : 'done';
    document.body.dataset.state = 'done';
  } catch (e) {
    status.textContent = message(e);
    document.body.dataset.state = 'error';
  } finally {
    button.disabled = false;
  }
}

function showPresetConfig() {
  const preset = PRESETS.find((p) => p.id === $<HTMLSelectElement>('preset').value)!;
  $<HTMLTextAreaElement>('config').value = JSON.stringify(preset.config, null, 1);
}

function main() {
  fillSelect($('preset'), PRESETS.map((p) => ({ id: p.id, label: p.label })), 'book');
  fillSelect($('backend-a'), BACKENDS, 'ts');
  fillSelect($('backend-b'), [{ id: '', label: '(none)' }, ...BACKENDS], '');
  fillSelect($('batch'), [{ id: '0', label: '0' }]);
  $('legend').append(legend());
  installTooltip($('tip'));
  showPresetConfig();
  $('preset').addEventListener('change', showPresetConfig);
  $('run').addEventListener('click', () => void run());
  $('batch').addEventListener('change', () => last && render(last));
  setupSuite();
  // The colour scales, for the browser test that compares the drawn pixels with the weights.
  (window as unknown as { __mhaExplorer: unknown }).__mhaExplorer = { weightColour, diffColour };
  document.body.dataset.state = 'ready';
}

main();
