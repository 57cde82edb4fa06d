import { GROUPS, formatHtmlReport, runSuite, totalsLine, type Fixture } from '@mha/conformance/browser';
import { BACKENDS, getBackend } from './backends.js';
import { FIXTURE_IDS, loadFixture } from './presets.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The conformance suite in the page: a backend, a live progress bar, then the HTML report. */
export function setupSuite(): void {
  const backendSel = $<HTMLSelectElement>('suite-backend');
  backendSel.replaceChildren(...BACKENDS.map((b) => new Option(b.label, b.id)));
  const groupSel = document.createElement('select');
  groupSel.id = 'suite-group';
  // onnx-peer needs Node's file loader and is not part of @mha/conformance/browser.
  groupSel.replaceChildren(new Option('every group', ''), ...GROUPS.filter((g) => g !== 'onnx-peer').map((g) => new Option(g, g)));
  const label = document.createElement('label');
  label.append('group ', groupSel);
  backendSel.parentElement!.after(label);
  const button = $<HTMLButtonElement>('run-suite');
  button.addEventListener('click', async () => {
    const bar = $<HTMLProgressElement>('suite-progress');
    const status = $('suite-status');
    const frame = $<HTMLIFrameElement>('suite-report');
    button.disabled = true;
    document.body.dataset.suite = 'running';
    try {
      status.textContent = 'loading fixtures...';
      const fixtures: Fixture[] = await Promise.all(FIXTURE_IDS.map((id) => loadFixture(id)));
      const backend = await getBackend(backendSel.value);
      const start = performance.now();
      const report = await runSuite(backend, {
        fixtures,
        groups: groupSel.value ? [groupSel.value as (typeof GROUPS)[number]] : undefined,
        onResult: (r, done, total) => {
          bar.max = total;
          bar.value = done;
          status.textContent = `${done}/${total} ${r.id}`;
        },
      });
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      status.textContent = `${totalsLine([report])} in ${seconds} s`;
      frame.srcdoc = formatHtmlReport([report], {
        title: `MHA conformance: ${backend.name} in this browser`,
        date: new Date().toISOString(),
        machine: { browser: navigator.userAgent, threads: String(navigator.hardwareConcurrency), crossOriginIsolated: String(globalThis.crossOriginIsolated) },
      });
      document.body.dataset.suite = 'done';
    } catch (e) {
      status.textContent = e instanceof Error ? e.message : String(e);
      document.body.dataset.suite = 'error';
    } finally {
      button.disabled = false;
    }
  });
}
