/**
 * Named, grow-only float64 work buffers. A module keeps one pool, so repeated forwards of the same
 * size allocate nothing; `get` returns an exact-length view, so a trace or a length check sees the
 * size really used. Contents are NOT cleared between uses: every user writes before it reads.
 */
export class ScratchPool {
  readonly #buffers = new Map<string, Float64Array>();

  /**
   * @param retain - keep buffers between calls to {@link ScratchPool.release} (fast repeated calls)
   *   or drop them (lowest resident memory between calls).
   */
  constructor(readonly retain: boolean) {}

  /** A `length`-element view of the buffer called `name`, growing it if needed. */
  get(name: string, length: number): Float64Array {
    let buf = this.#buffers.get(name);
    if (buf === undefined || buf.length < length) {
      buf = new Float64Array(length);
      this.#buffers.set(name, buf);
    }
    return buf.length === length ? buf : buf.subarray(0, length);
  }

  /** Ends one call: frees the buffers unless the pool retains them. */
  release(): void {
    if (!this.retain) this.#buffers.clear();
  }

  /** Frees every buffer (module dispose). */
  clear(): void {
    this.#buffers.clear();
  }

  /** Total float64 elements currently held, for tests and diagnostics. */
  get heldElements(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.length;
    return n;
  }
}
