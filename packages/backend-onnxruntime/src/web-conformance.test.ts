import { describeConformance } from '@mha/conformance/vitest';
import { ortWeb } from './web.js';

describeConformance(ortWeb);
