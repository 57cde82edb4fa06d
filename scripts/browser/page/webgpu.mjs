// WebGPU check (Chromium launched with SwiftShader's WebGPU adapter): the adapter, WGSL exp() measured
// against Math.exp, one module forward and one core-op call against core's float64 reference, then the
// whole shared conformance suite on @mha/backend-webgpu. Any failed case fails the run.
import { caseList, load, loadSuiteInputs, runPage, say } from './harness.mjs';

/** Measures WGSL exp() on [-88, 0] (the softmax's argument range) against Math.exp: worst relative error in ulps of float32. */
async function measureExp(device) {
  const n = 65536;
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = -88 * (i / (n - 1));
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&data)) { data[id.x] = exp(data[id.x]); }
}`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const staging = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, xs);
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
  pass.dispatchWorkgroups(n / 64);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, staging, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const ys = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  buf.destroy();
  staging.destroy();
  // Results below 2^-126 may be flushed to zero (WGSL allows it); in a softmax they are weights under
  // 1e-38 next to a maximum of 1, so they are counted separately, by absolute error.
  let worstRel = 0;
  let worstX = 0;
  let flushed = 0;
  for (let i = 0; i < n; i++) {
    const exact = Math.exp(xs[i]);
    if (exact < 2 ** -126) {
      if (Math.abs(ys[i] - exact) > 2 ** -126) flushed = NaN;
      else flushed++;
      continue;
    }
    const rel = Math.abs(ys[i] - exact) / exact;
    if (rel > worstRel) {
      worstRel = rel;
      worstX = xs[i];
    }
  }
  return { worstRel, worstX, ulps: worstRel / 2 ** -24, subnormal: flushed };
}

runPage(async () => {
  const core = await load('@mha/core');
  const { createWebGpuBackend } = await load('@mha/backend-webgpu');
  const { runSuite } = await load('/conformance/suite.js');
  const { formatDetails, formatTable, summarise, totalsLine } = await load('/conformance/report.js');
  const { compare } = await load('/conformance/compare.js');
  const { profileFor } = await load('/conformance/profiles.js');
  const problems = [];

  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return { ok: false, problems: ['no WebGPU adapter: was Chromium launched with the WebGPU flags?'] };
  say(`adapter: vendor ${adapter.info?.vendor ?? '?'}, architecture ${adapter.info?.architecture ?? '?'}, description ${adapter.info?.description ?? '?'}`);
  const probeDevice = await adapter.requestDevice();
  const expErr = await measureExp(probeDevice);
  probeDevice.destroy();
  say(`WGSL exp() on [-88, 0] vs Math.exp (65536 points): worst relative error ${expErr.worstRel.toExponential(2)} (${expErr.ulps.toFixed(1)} float32 ulp) at x = ${expErr.worstX}; ${expErr.subnormal} results below 2^-126 within 2^-126 absolute`);
  if (!(expErr.worstRel < 1e-5)) problems.push(`WGSL exp() relative error ${expErr.worstRel} is not small next to the tolerance (rtol 1e-4)`);

  const backend = createWebGpuBackend();
  const { tolerance } = profileFor(backend.name);

  // One module forward and one core-op call against the float64 reference.
  const config = core.resolveConfig({ dIn: 64, heads: 4, dOut: 64, causal: true, qkvBias: true });
  const weights = core.initWeights(config, 1);
  const x = core.randomTensor([2, 70, 64], 2);
  const module = await backend.createModule(config, weights);
  const result = await module.forward(x, { returnAttentionWeights: true });
  const diagLive = backend.diagnostics();
  await module.dispose();
  const reference = core.referenceForward(config, weights, x);
  const outCmp = compare(result.output, reference.output, tolerance);
  const wCmp = compare(result.attentionWeights, reference.attentionWeights, tolerance);
  say(`example forward (B2 T70 D64 H4 causal): output max abs err ${outCmp.maxAbs.toExponential(2)}, weights max abs err ${wCmp.maxAbs.toExponential(2)}; diagnostics while live ${JSON.stringify(diagLive)}, after dispose ${JSON.stringify(backend.diagnostics())}`);
  if (!outCmp.ok) problems.push(`example output differs from the float64 reference: ${outCmp.message}`);
  if (!wCmp.ok) problems.push(`example weights differ from the float64 reference: ${wCmp.message}`);

  // Kernel edges the suite's shapes may not reach: head sizes at the tiled kernel's padding steps (16,
  // 64, 65, 128) and past its limit (129) and past the per-row kernel's q cache (600); query blocks and key tiles one past
  // a multiple (33 rows, 17 keys); causal cross-attention both ways; GQA with broadcast masks. Each on
  // both kernels, against the float64 reference.
  const edgeCases = [
    { q: [1, 2, 33, 16], k: [1, 2, 17, 16], dv: 16, opts: { causal: true } },
    { q: [2, 4, 40, 64], k: [2, 2, 70, 64], dv: 64, opts: { causal: true } },
    { q: [1, 3, 65, 65], k: [1, 3, 65, 65], dv: 7, opts: { causal: true } },
    { q: [1, 2, 20, 128], k: [1, 2, 19, 128], dv: 128, opts: { causal: true } },
    { q: [1, 1, 4, 129], k: [1, 1, 6, 129], dv: 5, opts: {} },
    { q: [1, 1, 5, 600], k: [1, 1, 9, 600], dv: 3, opts: {} },
    { q: [1, 2, 70, 8], k: [1, 1, 31, 8], dv: 33, opts: { causal: true, softcap: 5 } },
    { q: [2, 2, 33, 32], k: [2, 2, 47, 32], dv: 32, mask: 'bool' },
    { q: [2, 2, 33, 32], k: [2, 2, 47, 32], dv: 32, mask: 'additive' },
  ];
  let edgeWorst = 0;
  for (const [n, c] of edgeCases.entries()) {
    const q = core.randomTensor(c.q, 10 + n);
    const k = core.randomTensor(c.k, 20 + n);
    const v = core.randomTensor([c.k[0], c.k[1], c.k[2], c.dv], 30 + n);
    const opts = { ...c.opts };
    if (c.mask) {
      // [B, 1, Tq, Tk] broadcast over heads; every 5th row fully masked, -Infinity and finite entries mixed.
      const [B, , Tq] = c.q;
      const Tk = c.k[2];
      const len = B * Tq * Tk;
      const data = c.mask === 'bool' ? new Uint8Array(len) : new Float32Array(len);
      for (let e = 0; e < len; e++) {
        const row = Math.floor(e / Tk) % Tq;
        const visible = row % 5 !== 4 && (e * 7) % 3 !== 0;
        data[e] = c.mask === 'bool' ? (visible ? 1 : 0) : visible ? ((e % 11) - 5) * 0.25 : -Infinity;
      }
      opts.mask = { kind: c.mask, data, shape: [B, 1, Tq, Tk] };
    }
    const ref = core.referenceAttention(q, k, v, opts);
    for (const attentionKernel of ['auto', 'per-row']) {
      const b = createWebGpuBackend({ attentionKernel });
      const r = await b.attention(q, k, v, opts);
      await b.dispose();
      const cmp = compare(r.output, ref.output, tolerance);
      edgeWorst = Math.max(edgeWorst, cmp.maxAbs);
      if (!cmp.ok) problems.push(`kernel edge q${JSON.stringify(c.q)} k${JSON.stringify(c.k)} dv${c.dv} ${JSON.stringify({ ...c.opts, mask: c.mask })} (${attentionKernel}): ${cmp.message}`);
    }
  }
  say(`kernel edges: ${edgeCases.length} core-op calls x 2 kernels against the float64 reference, max abs err ${edgeWorst.toExponential(2)}`);

  const inputs = await loadSuiteInputs();
  // The whole suite on the default kernels (query-tiled flash attention where it applies, the per-row
  // kernel for weights and wide heads); with ?full=1 (MHA_BROWSER_FULL=1) a second time with the per-row
  // kernel everywhere, so both kernels are held to every case (about 80 s more on SwiftShader).
  const totals = {};
  const suites = [];
  const kernels = new URLSearchParams(location.search).get('full') === '1' ? ['auto', 'per-row'] : ['auto'];
  for (const attentionKernel of kernels) {
    const b = attentionKernel === 'auto' ? backend : createWebGpuBackend({ attentionKernel });
    const started = performance.now();
    const report = await runSuite(b, {
      ...inputs,
      repoProfile: true,
      onResult: (r) => {
        if (r.status === 'fail') say(`FAIL (${attentionKernel}) ${r.id}: ${r.reason ?? ''}`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    say(`attentionKernel '${attentionKernel}': suite time on WebGPU ${seconds.toFixed(1)} s, diagnostics ${JSON.stringify(b.diagnostics())}`);
    say(formatTable([report]));
    say(totalsLine([report]));
    const details = formatDetails([report]);
    if (details.trim() !== '') say(details);
    const slowest = [...report.results].sort((x, y) => y.ms - x.ms).slice(0, 5);
    say(`slowest cases: ${slowest.map((r) => `${r.id} ${(r.ms / 1000).toFixed(1)} s`).join('; ')}`);
    const total = summarise(report.results).total;
    totals[attentionKernel] = { ...total, seconds };
    suites.push({ label: `attentionKernel '${attentionKernel}'`, ...caseList(report) });
    if (total.fail > 0) problems.push(`${total.fail} conformance case(s) failed on webgpu (attentionKernel '${attentionKernel}')`);
    if (total.pass === 0) problems.push(`no conformance case passed on webgpu (attentionKernel '${attentionKernel}')`);
    if (b !== backend) await b.dispose();
  }
  await backend.dispose();

  // Device loss on a real device: destroy() the device under a live module (the closest a page can get
  // to a driver reset). Its next forward must reject with MHA_BACKEND_UNAVAILABLE, not hang or return
  // zeros; a new module must get a new device and the right numbers.
  let captured;
  const spyGpu = {
    async requestAdapter(options) {
      const a = await navigator.gpu.requestAdapter(options);
      return {
        info: a.info,
        limits: a.limits,
        requestDevice: async (descriptor) => (captured = await a.requestDevice(descriptor)),
      };
    },
  };
  const lossBackend = createWebGpuBackend({ gpu: spyGpu });
  const lossModule = await lossBackend.createModule(config, weights);
  await lossModule.forward(x);
  const firstDevice = captured;
  firstDevice.destroy();
  try {
    await lossModule.forward(x);
    problems.push('forward on a destroyed device resolved');
  } catch (e) {
    say(`forward after device.destroy(): ${e?.code} field=${e?.field} value=${String(e?.value)}`);
    if (!core.isMhaError(e) || e.code !== 'MHA_BACKEND_UNAVAILABLE') problems.push(`forward on a destroyed device threw ${e}, expected MHA_BACKEND_UNAVAILABLE`);
  }
  await lossModule.dispose();
  const recovered = await lossBackend.createModule(config, weights);
  const again = await recovered.forward(x);
  await recovered.dispose();
  await lossBackend.dispose();
  const againCmp = compare(again.output, reference.output, tolerance);
  say(`after the loss: new device ${captured !== firstDevice ? 'acquired' : 'NOT acquired'}, forward max abs err ${againCmp.maxAbs.toExponential(2)}`);
  if (captured === firstDevice) problems.push('no new device was requested after the loss');
  if (!againCmp.ok) problems.push(`forward on the new device differs from the reference: ${againCmp.message}`);

  return { ok: problems.length === 0, problems, totals, exp: expErr, suites };
});
