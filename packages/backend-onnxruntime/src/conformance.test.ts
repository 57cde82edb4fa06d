import { describeConformance } from '@mha/conformance/vitest';
import { ortAttentionOp, ortDecomposed } from './index.js';

describeConformance(ortAttentionOp);
describeConformance(ortDecomposed);
