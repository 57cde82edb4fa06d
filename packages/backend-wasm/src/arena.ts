import { MhaError, MhaErrorCode } from '@mha/core';

/** Alignment of every block: one f32x4 vector. */
const ALIGN = 16;
const PAGE = 65536;

/** The part of `WebAssembly.Memory` the arena uses (declared here: the DOM lib is not part of this build). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/**
 * A first-fit allocator over one growable `WebAssembly.Memory`, kept on the JavaScript side so the
 * WebAssembly module needs no runtime of its own. Blocks are 16-byte aligned; freed neighbours merge,
 * and a free block at the top lowers the top. Memory only grows (WebAssembly cannot shrink it), so
 * repeated forwards of one size reuse the same bytes. Views over `memory.buffer` go stale when it grows:
 * take them after the last `alloc` of a step.
 */
export class Arena {
  private top: number;
  /** Free blocks below `top`, sorted by address, never adjacent (they merge). */
  private readonly freeList: { ptr: number; size: number }[] = [];
  private readonly live = new Map<number, number>();
  private liveBytes = 0;

  constructor(
    private readonly memory: WasmMemory,
    base: number,
  ) {
    this.top = alignUp(base);
  }

  /** Bytes in live blocks. */
  get allocatedBytes(): number {
    return this.liveBytes;
  }

  /** Size of the WebAssembly memory in bytes. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A block of at least `bytes` bytes (contents undefined). Grows the memory when needed. */
  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, ALIGN));
    let ptr = -1;
    for (let i = 0; i < this.freeList.length; i++) {
      const f = this.freeList[i]!;
      if (f.size < size) continue;
      ptr = f.ptr;
      if (f.size === size) this.freeList.splice(i, 1);
      else this.freeList[i] = { ptr: f.ptr + size, size: f.size - size };
      break;
    }
    if (ptr < 0) {
      ptr = this.top;
      const end = ptr + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        try {
          this.memory.grow(Math.ceil((end - have) / PAGE));
        } catch (e) {
          // wasm32 memories stop at 4 GiB (2 GiB on some engines), before any size check of core's.
          const err = new MhaError(MhaErrorCode.BackendUnavailable, 'wasmMemoryBytes', end, 'WebAssembly memory cannot grow to this size; its error is the cause');
          Object.defineProperty(err, 'cause', { value: e, configurable: true, writable: true, enumerable: false });
          throw err;
        }
      }
      this.top = end;
    }
    this.live.set(ptr, size);
    this.liveBytes += size;
    return ptr;
  }

  /** Returns a block from {@link alloc}. Freeing 0 or an unknown pointer does nothing. */
  free(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) return;
    this.live.delete(ptr);
    this.liveBytes -= size;
    const list = this.freeList;
    let i = 0;
    while (i < list.length && list[i]!.ptr < ptr) i++;
    let block = { ptr, size };
    const prev = list[i - 1];
    if (prev && prev.ptr + prev.size === ptr) {
      block = { ptr: prev.ptr, size: prev.size + size };
      list.splice(--i, 1);
    }
    const next = list[i];
    if (next && block.ptr + block.size === next.ptr) {
      block = { ptr: block.ptr, size: block.size + next.size };
      list.splice(i, 1);
    }
    if (block.ptr + block.size === this.top) this.top = block.ptr;
    else list.splice(i, 0, block);
  }
}
