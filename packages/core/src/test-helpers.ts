// Test-only helpers shared by the package's tests (excluded from the build and the package).
import { isMhaError } from './errors.js';

/** The `code`, `field` and `value` of the MhaError `fn` throws; rethrows anything else, fails when nothing is thrown. */
export function errorOf(fn: () => unknown): { code: string; field: string; value: unknown } {
  try {
    fn();
  } catch (e) {
    if (isMhaError(e)) return { code: e.code, field: e.field, value: e.value };
    throw e;
  }
  throw new Error('did not throw');
}
