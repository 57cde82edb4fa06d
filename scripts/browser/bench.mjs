// `pnpm bench:browser`: times @mha/backend-webgpu (and @mha/backend-ts for comparison) on the bench
// shapes in headless Chromium. By default Chromium gets SwiftShader's WebGPU adapter (CPU: a functional
// check, not a GPU number); `--gpu` launches it with WebGPU enabled on the machine's own GPU instead.
// Usage: node scripts/browser/bench.mjs [--gpu] [--shapes small,gpt2-layer] [--backends webgpu,ts]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from './server.mjs';

const { values } = parseArgs({
  options: { gpu: { type: 'boolean', default: false }, shapes: { type: 'string', default: 'book,small,gpt2-layer' }, backends: { type: 'string', default: 'webgpu,ts' } },
});
const { chromium } = await import('playwright-core').catch(() => {
  console.error('playwright-core is missing: run `npm install` in scripts/browser first (see its README).');
  process.exit(2);
});
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const common = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const swiftshader = ['--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-gpu-sandbox'];
const args = values.gpu ? [...common, '--enable-features=Vulkan', '--ignore-gpu-blocklist'] : [...common, ...swiftshader];

const dir = mkdtempSync(join(tmpdir(), 'mha-bench-chromium-'));
const server = await startServer({ isolated: false });
const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args });
try {
  console.log(`chromium ${context.browser()?.version() ?? '?'}; ${values.gpu ? 'machine GPU' : 'SwiftShader (CPU): functional check only, not a GPU number'}`);
  const page = await context.newPage();
  page.on('console', (m) => console.log(m.text()));
  page.on('pageerror', (e) => console.log(`PAGE ERROR: ${e.message}`));
  await page.goto(`${server.origin}/bench.html?shapes=${encodeURIComponent(values.shapes)}&backends=${encodeURIComponent(values.backends)}`);
  await page.waitForFunction(() => '__mhaResult' in window, null, { timeout: 60 * 60_000, polling: 500 });
  const verdict = await page.evaluate(() => window.__mhaResult);
  if (!verdict.ok) {
    console.error(verdict.error ?? verdict.problems);
    process.exitCode = 1;
  }
} finally {
  await context.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
