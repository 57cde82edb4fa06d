// Browser entry: publishes the verdict as window.__mhaResult for the runner.
import { run } from './main.js';

run({ expectPicked: 'ts', wasmHint: true }).then(
  (verdict) => (window.__mhaResult = verdict),
  (error) => (window.__mhaResult = { ok: false, problems: [`the app threw: ${error instanceof Error ? error.stack : String(error)}`] }),
);
