import { InferenceSession } from 'onnxruntime-node';

/** Sessions opened by this package and not yet released, process-wide (for leak checks and soak runs). */
let live = 0;

/** Opens a session and counts it. */
export async function openSession(model: Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession> {
  const session = await InferenceSession.create(model, options);
  live++;
  return session;
}

/** Releases a session opened by {@link openSession}. */
export async function closeSession(session: InferenceSession): Promise<void> {
  await session.release();
  live--;
}

/** How many sessions are open right now. */
export function liveSessions(): number {
  return live;
}
