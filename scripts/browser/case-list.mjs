// The browser rows run the case list of the Node CLI: this builds that list from conformance's dist
// (with its Node loaders) and checks a page's suite report against it. A missing or extra case, or a
// skip that nothing declares, is a problem, unless DECLARED_ABSENT below gives the reason.
import { builtinFixturesDir, buildSuite, builtinOnnxPeerDir, loadFixtureDir, loadOnnxPeerCases } from '../../conformance/dist/index.js';
import { loadModuleFixtures } from '../../conformance/dist/module-fixture-files.js';

/**
 * Cases a browser row may lack, by backend name, then test id prefix, with the reason. Empty: every
 * browser row runs every case.
 */
export const DECLARED_ABSENT = {};

/**
 * Skip reasons that are declarations: a profile expectation (conformance/src/profiles.ts, with its
 * reason) and a capability the backend does not declare. A runtime skip ("backend declares runtimes
 * ...") or anything else means the row did not really run the case.
 */
const DECLARED_SKIP = [/^expected failure: /, /^backend does not declare /];

/** `{ id, group }` of every case `mha-conformance` runs in Node, in its order. */
export async function nodeCaseList() {
  const cases = buildSuite({ fixtures: loadFixtureDir(builtinFixturesDir()), onnxPeer: loadOnnxPeerCases(builtinOnnxPeerDir()), moduleFixtures: loadModuleFixtures() });
  return cases.map((c) => ({ id: c.id, group: c.group }));
}

const sample = (ids) => `${ids.slice(0, 3).join(', ')}${ids.length > 3 ? `, ... (${ids.length})` : ''}`;

/**
 * Compares one suite report of a page (`{ backend, label?, results: [{ id, status, reason? }] }`) with the
 * Node list. Returns the problems and a one-line summary of the row.
 */
export function checkCaseList(suite, nodeCases) {
  const problems = [];
  const absent = DECLARED_ABSENT[suite.backend] ?? {};
  const declared = (id) => Object.keys(absent).find((prefix) => id.startsWith(prefix));
  const got = new Map(suite.results.map((r) => [r.id, r]));
  const missingByGroup = new Map();
  for (const c of nodeCases) {
    if (got.has(c.id) || declared(c.id)) continue;
    missingByGroup.set(c.group, [...(missingByGroup.get(c.group) ?? []), c.id]);
  }
  const name = `${suite.backend}${suite.label && suite.label !== suite.backend ? ` (${suite.label})` : ''}`;
  for (const [group, ids] of missingByGroup) problems.push(`${name}: ${ids.length} case(s) of group ${group} missing from the browser run: ${sample(ids)}`);
  const known = new Set(nodeCases.map((c) => c.id));
  const extra = suite.results.filter((r) => !known.has(r.id)).map((r) => r.id);
  if (extra.length > 0) problems.push(`${name}: ${extra.length} case(s) not in the Node list: ${sample(extra)}`);
  const undeclared = suite.results.filter((r) => r.status === 'skip' && !DECLARED_SKIP.some((re) => re.test(r.reason ?? '')));
  if (undeclared.length > 0) problems.push(`${name}: ${undeclared.length} skip(s) nothing declares: ${sample(undeclared.map((r) => `${r.id} (${r.reason})`))}`);
  const count = (status) => suite.results.filter((r) => r.status === status).length;
  const absentNote = Object.keys(absent).length > 0 ? `; declared absent: ${Object.entries(absent).map(([p, why]) => `${p} (${why})`).join('; ')}` : '';
  return { problems, summary: `${name.padEnd(40)} ${count('pass')}/${count('fail')}/${count('skip')}${absentNote}` };
}
