import { describe, expect, it } from 'vitest';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { referenceBackend } from './reference-backend.js';
import { buildSuite } from './suite.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases } from './onnx-peer.js';
import { describeConformance } from './vitest.js';

// The control: the float64 reference must pass every case of the suite.
describeConformance(referenceBackend);

describe('suite structure', () => {
  const cases = buildSuite({ fixtures: loadFixtureDir(builtinFixturesDir()), onnxPeer: loadOnnxPeerCases(builtinOnnxPeerDir()) });
  it('has unique ids that start with their group and name a SPEC section', () => {
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    for (const c of cases) {
      expect(c.id.startsWith(`${c.group}/`)).toBe(true);
      expect(c.spec).toMatch(/^SPEC\.md#[a-z0-9-]+$/);
    }
  });
  it('covers every group and every golden fixture', () => {
    const groups = new Set(cases.map((c) => c.group));
    expect([...groups].sort()).toEqual(['causal-mask', 'errors', 'head-split', 'lifecycle', 'numeric', 'onnx-peer', 'properties', 'shapes']);
    const golden = cases.filter((c) => c.id.startsWith('numeric/golden/')).length;
    expect(golden).toBe(loadFixtureDir(builtinFixturesDir()).length);
  });
});
