// The shared conformance suite (@mha/conformance): every group, with the 'ts' profile's float32 tolerance.
import { describeConformance } from '@mha/conformance/vitest';
import { tsBackend } from './index.js';

describeConformance(tsBackend);
