import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Silences tfjs-backend-cpu's "Hi, looks like you are running TensorFlow.js in Node.js. To speed things
 * up dramatically, install our node backend..." banner.
 *
 * Where it comes from: `MathBackendCPU.write` (backend_cpu.ts) prints it through tfjs's `log.warn` on the
 * instance's first tensor upload when tfjs's `IS_NODE` flag is set, guarded by the instance field
 * `firstUse`. Clearing that flag on the process's cpu backend instance before its first upload silences
 * exactly this message: other tfjs warnings still reach the console, nothing global (console, tfjs's
 * `PROD`/`IS_TEST`/`IS_NODE` flags) is changed. The no-banner test fails if a tfjs upgrade moves the banner.
 *
 * Call it after the cpu backend has been initialised (`tf.setBackend('cpu')`).
 */
export function silenceCpuBanner(): void {
  const backend = tf.findBackend('cpu');
  if (backend instanceof MathBackendCPU) (backend as unknown as { firstUse: boolean }).firstUse = false;
}
