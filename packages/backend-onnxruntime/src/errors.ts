import { isMhaError, MhaError, MhaErrorCode } from '@mha/core';

/**
 * An onnxruntime failure (session creation or run, e.g. an allocation it cannot make for a huge
 * intermediate tensor) as a typed `MhaError`: `MHA_BACKEND_UNAVAILABLE` with the step as `field`
 * and onnxruntime's own error kept as `cause`, so its raw message never reaches the caller as the error.
 */
export function ortFailure(step: string, value: unknown, e: unknown): MhaError {
  if (isMhaError(e)) return e as MhaError;
  const err = new MhaError(MhaErrorCode.BackendUnavailable, step, value, 'onnxruntime could not do this (e.g. it could not allocate an intermediate tensor); its error is the cause');
  Object.defineProperty(err, 'cause', { value: e, configurable: true, writable: true, enumerable: false });
  return err;
}

/** Runs `run` and turns an onnxruntime failure into an `MhaError` (see {@link ortFailure}). */
export async function guarded<R>(step: string, value: unknown, run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (e) {
    throw ortFailure(step, value, e);
  }
}
