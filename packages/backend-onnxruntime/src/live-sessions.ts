import type { InferenceSession } from 'onnxruntime-node';
import { ortFailure } from './errors.js';
import type { OrtRuntime } from './runtime.js';

/**
 * The sessions one backend opened and has not released yet, and the intra-op threads they own.
 * onnxruntime-node cannot share thread pools between sessions (its environment is created without
 * global thread pools, and `session.use_per_session_threads = 0` is refused), so every session owns
 * its own pool: these counters are how a caller sees that cost.
 */
export class SessionRegistry {
  private readonly threads = new Map<InferenceSession, number>();

  constructor(private readonly runtime: OrtRuntime) {}

  /** Opens a session and counts it; an onnxruntime failure becomes an `MhaError` (`field` = `step`). */
  async open(model: Uint8Array, options: InferenceSession.SessionOptions, step: string, value: unknown): Promise<InferenceSession> {
    let session: InferenceSession;
    try {
      session = await this.runtime.createSession(model, options);
    } catch (e) {
      throw ortFailure(step, value, e);
    }
    this.threads.set(session, this.runtime.poolThreads(options));
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
