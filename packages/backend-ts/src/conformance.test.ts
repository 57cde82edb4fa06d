// The shared conformance suite (@mha/conformance): every group, with the 'ts' profile's float32 tolerance.
import { describeConformance } from '@mha/conformance/vitest';
import { afterAll } from 'vitest';
import { tsBackend } from './index.js';
import { importBuilt } from './test-support/built.js';

describeConformance(tsBackend);

// The threaded mode as shipped (its worker runs dist/worker-node.js). minWorkPerThread: 0 shares even
// the suite's small cases with the worker, so the suite exercises the worker path, not just the fallback
// to the calling thread that the default threshold would choose for them.
const { createTsBackend } = await importBuilt();
const threaded = createTsBackend({ threads: 2, minWorkPerThread: 0 });
afterAll(() => threaded.dispose());
describeConformance(threaded);
