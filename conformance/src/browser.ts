/**
 * @mha/conformance/browser: the suite without Node APIs (no file system, no CLI). Serve the package's
 * `dist/fixtures/` and `fetchSuiteInputs` fetches every built-in input (golden, module-feature and
 * checkpoint fixtures, ONNX peer cases), so the browser runs the same case list as the Node CLI.
 *
 * @example
 * import { fetchSuiteInputs, runSuite, formatTable } from '@mha/conformance/browser';
 * const inputs = await fetchSuiteInputs('/node_modules/@mha/conformance/dist/fixtures/');
 * console.log(formatTable([await runSuite(myBackend, inputs)]));
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
export { fetchSuiteInputs, parseSuiteFiles, SUITE_FILES, SUITE_FILES_FORMAT, type SuiteInputs, type SuiteFilesJSON } from './fetch-fixtures.js';
export { parseOnnxPeerCases, type OnnxPeerCase } from './onnx-peer-parse.js';
export { parseModuleFixture, parseCheckpointFixture, type ModuleFeatureFixture } from './module-fixtures.js';
