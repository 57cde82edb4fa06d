// The Web Worker host with a stand-in `Worker` global (Node has none): a script that fails to load fails
// with an error naming its URL, resolved against the page; `workerUrl` replaces the default script.
import { afterEach, describe, expect, it } from 'vitest';
import { webWorkerSpawner } from './worker-host-web.js';

interface FakeWorker {
  url: URL;
  onerror: ((e: { message?: string; preventDefault(): void }) => void) | null;
}
const started: FakeWorker[] = [];
const g = globalThis as Record<string, unknown>;
afterEach(() => {
  delete g.Worker;
  delete g.location;
  started.length = 0;
});
function install(): void {
  g.Worker = class {
    onmessage = null;
    onerror: FakeWorker['onerror'] = null;
    onmessageerror = null;
    constructor(readonly url: URL) {
      started.push(this);
    }
    postMessage() {}
    terminate() {}
  };
}

describe('webWorkerSpawner', () => {
  it('names the given workerUrl, resolved against the page, when the worker fails to load', () => {
    install();
    g.location = { href: 'https://app.example/deep/page.html' };
    const failures: Error[] = [];
    webWorkerSpawner('./wasm-worker.js')(() => {}, (e) => failures.push(e));
    expect(String(started[0]!.url)).toBe('https://app.example/deep/wasm-worker.js');
    let prevented = false;
    started[0]!.onerror!({ message: 'HTTP 404', preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    expect(failures[0]!.message).toContain('the worker script https://app.example/deep/wasm-worker.js failed to load or threw (HTTP 404)');
    expect(failures[0]!.message).toContain('workerUrl');
  });

  it('by default starts worker-web.js beside the module and names it on failure', () => {
    install();
    const failures: Error[] = [];
    webWorkerSpawner()(() => {}, (e) => failures.push(e));
    const url = String(started[0]!.url);
    expect(url).toBe(String(new URL('./worker-web.js', import.meta.url)));
    started[0]!.onerror!({ preventDefault: () => {} });
    expect(failures[0]!.message).toContain(`the worker script ${url} failed to load or threw.`);
  });
});
