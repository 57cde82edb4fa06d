/**
 * @mha/conformance: one suite, run against every multi-head attention backend.
 *
 * @packageDocumentation
 */
export { GROUPS, type Group, type ConformanceCase, type CaseContext, ConformanceFailure, expectClose, check } from './case.js';
export { compare, type Tolerance, type Comparison } from './compare.js';
export { parseFixture, decodeTensor, decodeBase64, type Fixture, type ModuleFixture, type AttentionFixture, type FixtureTensorJSON } from './fixture.js';
export { builtinFixturesDir, loadFixtureDir, loadFixtureFile } from './fixture-files.js';
export { PROFILES, DEFAULT_PROFILE, FLOAT32_TOLERANCE, profileFor, type BackendProfile } from './profiles.js';
export { buildSuite, runSuite, runCase, skipReason, type SuiteOptions, type CaseResult, type BackendReport } from './suite.js';
export { summarise, formatTable, formatDetails, totalsLine, type GroupSummary } from './report.js';
export { loadBackends, isBackend, repoBackendModules, resolveModule } from './load-backend.js';
export { BOOK_PRINTED } from './groups/numeric.js';
export { referenceBackend } from './reference-backend.js';
export { buggyBackend, BUGS, type Bug } from './buggy-backends.js';
export { numericBuggyBackend, NUMERIC_BUGS, NUMERIC_BUG_DESCRIPTIONS, type NumericBug } from './buggy/numeric.js';
export { loadOnnxPeerCases, parseOnnxPeerCases, builtinOnnxPeerDir, ONNX_PEER_FILE, ONNX_PEER_FORMAT, type OnnxPeerCase, type OnnxPeerCaseJSON, type OnnxPeerFileJSON } from './onnx-peer.js';
export { errorBuggyBackend, ERROR_BUGS, type ErrorBug } from './buggy/errors.js';
export { lifecycleBuggyBackend, LIFECYCLE_BUGS, type LifecycleBug } from './buggy/lifecycle.js';
export { formatHtmlReport, escapeHtml, ratioColour, type HtmlReportMeta } from './html-report.js';
export { ERROR_MAP_MAX, type ErrorMap } from './compare.js';
export { loadModuleFixtures, loadCheckpointFixtures, builtinModuleFixturesDir } from './module-fixture-files.js';
export type { ModuleFeatureFixture } from './module-fixtures.js';
export { projectionBuggyBackend, PROJECTION_BUGS, PROJECTION_BUG_DESCRIPTIONS, type ProjectionBug } from './buggy/projection.js';
export { onlineSoftmaxBuggyBackend, ONLINE_SOFTMAX_BUGS, ONLINE_SOFTMAX_BUG_DESCRIPTIONS, type OnlineSoftmaxBug } from './buggy/online-softmax.js';
export { fetchSuiteInputs, parseSuiteFiles, SUITE_FILES, SUITE_FILES_FORMAT, type SuiteInputs, type SuiteFilesJSON } from './fetch-fixtures.js';
