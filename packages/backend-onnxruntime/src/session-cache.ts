import type { InferenceSession } from 'onnxruntime-node';
import { closeSession } from './live-sessions.js';

interface Entry {
  readonly session: Promise<InferenceSession>;
  active: number;
  evicted: boolean;
}

/**
 * Sessions keyed by the graph they run, least recently used evicted beyond `capacity`. An evicted
 * session is released once its in-flight runs finish, so eviction never breaks a running call.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity: number) {}

  /** Number of cached sessions. */
  get size(): number {
    return this.entries.size;
  }

  /** Runs `use` with the session for `key`, creating it with `create` on first use. */
  async with<R>(key: string, create: () => Promise<InferenceSession>, use: (s: InferenceSession) => Promise<R>): Promise<R> {
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key); // re-inserted below: Map order is recency order
    else {
      const session = create();
      entry = { session, active: 0, evicted: false };
      // A failed creation must not stay cached.
      session.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
    this.entries.set(key, entry);
    this.evictBeyondCapacity();
    entry.active++;
    try {
      return await use(await entry.session);
    } finally {
      entry.active--;
      if (entry.evicted && entry.active === 0) await release(entry);
    }
  }

  private evictBeyondCapacity(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(key);
      entry.evicted = true;
      if (entry.active === 0) void release(entry);
    }
  }

  /** Releases every idle session and marks busy ones for release when they finish. */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map((e) => {
        e.evicted = true;
        return e.active === 0 ? release(e) : undefined;
      }),
    );
  }
}

async function release(entry: Entry): Promise<void> {
  try {
    await closeSession(await entry.session);
  } catch {
    // Creation failed: nothing to release (the error reached the caller that created it).
  }
}
