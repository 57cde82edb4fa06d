// Without the WebGPU flags (Chromium's default headless run with --disable-gpu), the backend must
// refuse with MHA_BACKEND_UNAVAILABLE, promptly, on both entry points.
import { load, runPage, say } from './harness.mjs';

runPage(async () => {
  const core = await load('@mha/core');
  const { createWebGpuBackend } = await load('@mha/backend-webgpu');
  const problems = [];
  const adapter = await navigator.gpu?.requestAdapter();
  say(`navigator.gpu: ${navigator.gpu ? 'present' : 'absent'}, adapter: ${adapter ? 'present' : 'none'}`);
  if (adapter) return { ok: false, problems: ['an adapter exists here; this page checks the absent case'] };
  const backend = createWebGpuBackend();
  const config = core.resolveConfig({ dIn: 8, heads: 2, dOut: 8 });
  const q = core.randomTensor([1, 1, 2, 4], 1);
  for (const [what, call] of [
    ['createModule', () => backend.createModule(config, core.initWeights(config, 1))],
    ['attention', () => backend.attention(q, q, q)],
  ]) {
    try {
      await call();
      problems.push(`${what} resolved without a WebGPU adapter`);
    } catch (e) {
      say(`${what}: ${e?.code} field=${e?.field} value=${String(e?.value)}: ${e?.message}`);
      if (!core.isMhaError(e) || e.code !== 'MHA_BACKEND_UNAVAILABLE') problems.push(`${what} threw ${e}, expected MHA_BACKEND_UNAVAILABLE`);
    }
  }
  return { ok: problems.length === 0, problems };
});
