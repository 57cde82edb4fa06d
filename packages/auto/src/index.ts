/**
 * @mha/auto: picks the best installed MHA backend for the current runtime.
 *
 * @packageDocumentation
 */
export { pickBackend, type PickOptions, type PickResult } from './pick.js';
export { CANDIDATES, type Candidate } from './candidates.js';
