/**
 * @mha/conformance/browser: the suite without Node APIs (no file system, no CLI). Fetch fixture JSON
 * yourself and pass it through `parseFixture`; the onnx-peer group needs the Node loader and is absent.
 *
 * @example
 * import { parseFixture, runSuite, formatTable } from '@mha/conformance/browser';
 * const fixtures = await Promise.all(ids.map(async (id) => parseFixture(await (await fetch(`/golden/${id}.json`)).json())));
 * console.log(formatTable([await runSuite(myBackend, { fixtures })]));
 *
 * @packageDocumentation
 */
export { GROUPS, type Group, type ConformanceCase, type CaseContext, ConformanceFailure, expectClose, check } from './case.js';
export { compare, type Tolerance, type Comparison } from './compare.js';
export { parseFixture, decodeTensor, decodeBase64, type Fixture, type ModuleFixture, type AttentionFixture, type FixtureTensorJSON } from './fixture.js';
export { PROFILES, DEFAULT_PROFILE, FLOAT32_TOLERANCE, profileFor, type BackendProfile } from './profiles.js';
export { buildSuite, runSuite, runCase, skipReason, type SuiteOptions, type CaseResult, type BackendReport } from './suite.js';
export { summarise, formatTable, formatDetails, totalsLine, type GroupSummary } from './report.js';
export { referenceBackend } from './reference-backend.js';
export { buggyBackend, BUGS, type Bug } from './buggy-backends.js';
export { formatHtmlReport, escapeHtml, ratioColour, type HtmlReportMeta } from './html-report.js';
export { ERROR_MAP_MAX, type ErrorMap } from './compare.js';
