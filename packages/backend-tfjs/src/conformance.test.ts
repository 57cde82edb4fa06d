// The shared suite, once per tfjs backend, in one process: this also exercises switching tfjs's global
// backend between the two rows.
import { describeConformance } from '@mha/conformance/vitest';
import { tfjsCpu, tfjsWasm } from './index.js';

describeConformance(tfjsCpu);
describeConformance(tfjsWasm);
