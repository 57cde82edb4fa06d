import { describe, expect, it } from 'vitest';
import type { MhaBackend } from '@mha/core';
import { GROUPS, type Group } from './case.js';
import { loadModuleFixtures } from './module-fixture-files.js';
import { builtinFixturesDir, loadFixtureDir } from './fixture-files.js';
import { builtinOnnxPeerDir, loadOnnxPeerCases } from './onnx-peer.js';
import { isRepoBackendPath } from './load-backend.js';
import { profileFor, type BackendProfile } from './profiles.js';
import { buildSuite, runCase, skipReason } from './suite.js';

/** Options of {@link describeConformance}. */
export interface DescribeOptions {
  /** Extra fixture directories (format `mha-fixture/1`). */
  readonly fixtureDirs?: readonly string[];
  readonly groups?: readonly Group[];
  /** Overrides of the backend's profile (tolerance, expectations). */
  readonly profile?: Partial<BackendProfile>;
  /**
   * Per-case vitest timeout in ms. Default 600,000 (10 minutes): only a hang guard, since a correct
   * backend on a slow or loaded machine can take seconds on a large case (vitest's own default is 5 s).
   */
  readonly timeoutMs?: number;
  /**
   * Apply this repository's profile for the backend's name. Default: true only when the tests run
   * inside one of this repository's backend packages (the current directory), so a third-party
   * backend named like one of ours never inherits its settings.
   */
  readonly repoProfile?: boolean;
}

/**
 * Registers the whole conformance suite as vitest tests: one `describe` per group, one `it` per case,
 * named by its stable id. Unsupported capabilities appear as skipped tests whose name carries the reason.
 *
 * @example
 * // src/conformance.test.ts of a backend package
 * import { describeConformance } from '@mha/conformance/vitest';
 * import { myBackend } from './index.js';
 * describeConformance(myBackend);
 */
export function describeConformance(backend: MhaBackend | (() => MhaBackend), options: DescribeOptions = {}): void {
  const b = typeof backend === 'function' ? backend() : backend;
  const fixtures = [builtinFixturesDir(), ...(options.fixtureDirs ?? [])].flatMap((d) => loadFixtureDir(d));
  const profile = profileFor(b.name, options.profile, { repo: options.repoProfile ?? isRepoBackendPath(process.cwd()) });
  const cases = buildSuite({ fixtures, onnxPeer: loadOnnxPeerCases(builtinOnnxPeerDir()), moduleFixtures: loadModuleFixtures(), groups: options.groups });
  describe(`conformance: ${b.name}`, () => {
    for (const group of GROUPS) {
      const inGroup = cases.filter((c) => c.group === group);
      if (inGroup.length === 0) continue;
      describe(group, () => {
        for (const c of inGroup) {
          const skip = skipReason(c, b, profile);
          if (skip !== undefined) {
            it.skip(`${c.id} [skipped: ${skip}]`, () => {});
            continue;
          }
          it(
            c.id,
            async () => {
              const r = await runCase(c, b, profile);
              expect(r.status, r.reason).toBe('pass');
            },
            options.timeoutMs ?? 600_000,
          );
        }
      });
    }
  });
}
