// The shared conformance suite (@mha/conformance): every group, with the 'wasm' profile's float32 tolerance.
import { describeConformance } from '@mha/conformance/vitest';
import { afterAll } from 'vitest';
import { createWasmBackend, wasmBackend } from './index.js';
import { importBuilt } from './test-support/built.js';

describeConformance(wasmBackend);

// The plain-SIMD build too, when the default picked the relaxed one (its fused multiply-adds round
// differently, so both are checked wherever both run).
if (wasmBackend.simd === 'relaxed') {
  const plain = createWasmBackend({ name: 'wasm', simd: 'simd' });
  afterAll(() => plain.dispose());
  describeConformance(plain);
}

// The threaded mode as shipped (its worker runs dist/worker-node.js). minWorkPerThread: 0 splits even
// the suite's small cases, so the suite exercises the workers, not just the calling thread.
const built = await importBuilt();
const threaded = built.createWasmBackend({ threads: 2, minWorkPerThread: 0 });
afterAll(() => threaded.dispose());
describeConformance(threaded);
