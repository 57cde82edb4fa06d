import type { InferenceSession } from 'onnxruntime-node';

interface Entry {
  readonly session: Promise<InferenceSession>;
  active: number;
  evicted: boolean;
  /** Set once the session's release has started; every waiter awaits the same release. */
  released?: Promise<void>;
  /** Resolves `clear()` waiters once a busy evicted entry has finished and been released. */
  drained?: () => void;
}

/**
 * Sessions keyed by the graph they run, least recently used evicted beyond `capacity`. An evicted
 * session is released once its in-flight runs finish, so eviction never breaks a running call.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();

  /** `close` releases one session (it also keeps the owner's counters). */
  constructor(
    private readonly capacity: number,
    private readonly close: (s: InferenceSession) => Promise<void>,
  ) {}

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
      if (entry.evicted && entry.active === 0) {
        await this.release(entry);
        entry.drained?.();
      }
    }
  }

  private evictBeyondCapacity(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(key);
      entry.evicted = true;
      if (entry.active === 0) void this.release(entry);
    }
  }

  /**
   * Releases every cached session, waiting for the runs in flight on busy ones to finish first, and
   * resolves once all of them are released.
   */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      all.map((e) => {
        e.evicted = true;
        if (e.active === 0) return this.release(e);
        return new Promise<void>((resolve) => {
          const previous = e.drained;
          e.drained = () => {
            previous?.();
            resolve();
          };
        });
      }),
    );
  }

  private release(entry: Entry): Promise<void> {
    // A failed creation has nothing to release (its error reached the caller that created it); a
    // failed release has no caller to report to (eviction runs in the background).
    entry.released ??= entry.session.then((s) => this.close(s)).catch(() => undefined);
    return entry.released;
  }
}
