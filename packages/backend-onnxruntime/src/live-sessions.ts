import { availableParallelism } from 'node:os';
import { InferenceSession } from 'onnxruntime-node';
import { ortFailure } from './errors.js';

/**
 * OS threads an intra-op pool of `configured` threads owns: onnxruntime starts `n - 1` workers (the
 * calling thread is the n-th). `0` lets onnxruntime choose one per physical core; that is counted as
 * `os.availableParallelism()`, an upper bound.
 */
export function poolThreads(configured: number | undefined): number {
  const n = configured !== undefined && configured > 0 ? configured : availableParallelism();
  return Math.max(0, n - 1);
}

/**
 * The sessions one backend opened and has not released yet, and the intra-op threads they own.
 * onnxruntime-node cannot share thread pools between sessions (its environment is created without
 * global thread pools, and `session.use_per_session_threads = 0` is refused), so every session owns
 * its own pool: these counters are how a caller sees that cost.
 */
export class SessionRegistry {
  private readonly threads = new Map<InferenceSession, number>();

  /** Opens a session and counts it; an onnxruntime failure becomes an `MhaError` (`field` = `step`). */
  async open(model: Uint8Array, options: InferenceSession.SessionOptions, step: string, value: unknown): Promise<InferenceSession> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(model, options);
    } catch (e) {
      throw ortFailure(step, value, e);
    }
    this.threads.set(session, poolThreads(options.intraOpNumThreads));
    return session;
  }

  /** Releases a session opened by {@link open}. */
  async close(session: InferenceSession): Promise<void> {
    if (!this.threads.has(session)) return;
    this.threads.delete(session);
    await session.release();
  }

  /** Live sessions and the OS threads their intra-op pools own. */
  counts(): { sessions: number; intraOpThreads: number } {
    let t = 0;
    for (const n of this.threads.values()) t += n;
    return { sessions: this.threads.size, intraOpThreads: t };
  }
}
