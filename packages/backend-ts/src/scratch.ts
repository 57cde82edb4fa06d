/** Allocates the memory behind a work buffer; the threaded mode passes one that returns shared memory. */
export type BufferAllocator = (bytes: number) => ArrayBufferLike;

/** Plain, unshared memory. */
export const allocateUnshared: BufferAllocator = (bytes) => new ArrayBuffer(bytes);

/**
 * Named, grow-only work buffers. A module keeps one pool, so repeated forwards of the same size
 * allocate nothing; `get` returns an exact-length view, so a trace or a length check sees the size
 * really used. Contents are NOT cleared between uses: every user writes before it reads.
 */
export class ScratchPool {
  readonly #buffers = new Map<string, Float64Array | Float32Array>();

  /**
   * @param retain - keep buffers between calls to {@link ScratchPool.release} (fast repeated calls)
   *   or drop them (lowest resident memory between calls).
   * @param allocate - where the memory comes from (unshared by default).
   */
  constructor(
    readonly retain: boolean,
    private readonly allocate: BufferAllocator = allocateUnshared,
  ) {}

  /** A `length`-element float64 view of the buffer called `name`, growing it if needed. */
  get(name: string, length: number): Float64Array {
    return this.#view(name, length, Float64Array);
  }

  /** A `length`-element float32 view of the buffer called `name` (a name holds one element type). */
  getFloat32(name: string, length: number): Float32Array {
    return this.#view(name, length, Float32Array);
  }

  #view<A extends Float64Array | Float32Array>(name: string, length: number, type: { new (buffer: ArrayBufferLike, offset: number, length: number): A; readonly BYTES_PER_ELEMENT: number }): A {
    let buf = this.#buffers.get(name);
    if (buf !== undefined && !(buf instanceof type)) throw new Error(`scratch buffer '${name}' already holds another element type`);
    if (buf === undefined || buf.length < length) {
      buf = new type(this.allocate(length * type.BYTES_PER_ELEMENT), 0, length);
      this.#buffers.set(name, buf);
    }
    return (buf.length === length ? buf : buf.subarray(0, length)) as A;
  }

  /** Ends one call: frees the buffers unless the pool retains them. */
  release(): void {
    if (!this.retain) this.#buffers.clear();
  }

  /** Frees every buffer (module dispose). */
  clear(): void {
    this.#buffers.clear();
  }

  /** Total elements currently held (float64 and float32 alike), for tests and diagnostics. */
  get heldElements(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.length;
    return n;
  }
}
