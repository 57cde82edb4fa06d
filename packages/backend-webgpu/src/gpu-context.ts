import { MhaError, MhaErrorCode } from '@mha/core';
import { describeError, raceLost, unavailable, type DeviceHandle } from './device.js';

/** Live GPU objects of one backend, for `diagnostics()`. */
export interface GpuCounters {
  buffers: number;
  pipelines: number;
}

/**
 * One device plus what is made once on it: compute pipelines by variant key, and the buffer counter
 * that `diagnostics()` reports. Buffers are created and destroyed only through here, so the count is
 * exact.
 */
export class GpuContext {
  readonly counters: GpuCounters = { buffers: 0, pipelines: 0 };
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(readonly handle: DeviceHandle) {}

  get device(): GPUDevice {
    return this.handle.device;
  }

  /** Throws `MHA_BACKEND_UNAVAILABLE` when the device is gone, before any work is encoded on it. */
  assertAlive(): void {
    if (this.handle.isLost()) throw unavailable('device', 'lost', 'the WebGPU device was lost; create a new module (the backend acquires a new device)');
  }

  /** The pipeline for `key`, compiled on first use from `source()`. */
  pipeline(key: string, source: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (p === undefined) {
      const module = this.device.createShaderModule({ label: key, code: source() });
      p = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, p);
      this.counters.pipelines = this.pipelines.size;
    }
    return p;
  }

  /**
   * A storage buffer of at least `bytes` (rounded up to 16). Throws `MHA_BACKEND_UNAVAILABLE` naming
   * the buffer when it exceeds what one binding may hold on this device, instead of letting WebGPU
   * fail validation later.
   */
  createBuffer(label: string, bytes: number, usage: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const limit = (usage & STORAGE_BIT) !== 0 ? this.device.limits.maxStorageBufferBindingSize : this.device.limits.maxBufferSize;
    if (size > limit) {
      throw unavailable(`buffer.${label}`, size, `needs ${size} bytes, over this device's limit of ${limit} bytes per buffer`);
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.counters.buffers++;
    return buffer;
  }

  /** Destroys a buffer made by {@link createBuffer}. */
  destroyBuffer(buffer: GPUBuffer): void {
    buffer.destroy();
    this.counters.buffers--;
  }

  /**
   * Runs `encode` inside out-of-memory and validation error scopes and submits what it encodes. A
   * scope that caught an error means the submitted work did not run as written (WebGPU turns it into a
   * no-op, so reading back would return stale numbers): that becomes a typed error instead.
   */
  async submit(label: string, encode: (encoder: GPUCommandEncoder) => void): Promise<void> {
    this.assertAlive();
    const device = this.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let thrown: unknown;
    try {
      const encoder = device.createCommandEncoder({ label });
      encode(encoder);
      device.queue.submit([encoder.finish()]);
    } catch (e) {
      thrown = e;
    }
    const validation = await raceLost(this.handle, device.popErrorScope());
    const oom = await raceLost(this.handle, device.popErrorScope());
    if (thrown !== undefined) throw thrown;
    if (oom !== null) throw unavailable('device.memory', oom.message, `the GPU ran out of memory during ${label}`);
    if (validation !== null) {
      throw new MhaError(MhaErrorCode.BackendContract, label, validation.message, `WebGPU rejected the work of ${label} (a backend bug): ${validation.message}`);
    }
  }

  /**
   * Maps `staging` (a MAP_READ buffer that submitted work fills) once and copies each
   * `[elementOffset, length]` range into a fresh Float32Array.
   */
  async read(staging: GPUBuffer, ranges: readonly (readonly [number, number])[]): Promise<Float32Array[]> {
    const total = Math.max(...ranges.map(([o, n]) => o + n));
    try {
      await raceLost(this.handle, staging.mapAsync(MAP_READ, 0, total * 4));
    } catch (e) {
      if (e instanceof MhaError) throw e;
      throw unavailable('device', describeError(e), 'reading results back from the GPU failed');
    }
    const all = new Float32Array(staging.getMappedRange(0, total * 4));
    const out = ranges.map(([o, n]) => {
      const a = new Float32Array(n);
      a.set(all.subarray(o, o + n));
      return a;
    });
    staging.unmap();
    return out;
  }
}

/**
 * Named buffers reused across calls: a buffer is only recreated when a call needs more bytes than it
 * holds, so a module run repeatedly at one size allocates nothing after its first forward.
 */
export class Workspace {
  private readonly buffers = new Map<string, GPUBuffer>();

  constructor(
    private readonly ctx: GpuContext,
    private readonly label: string,
  ) {}

  /** A buffer named `name` holding at least `bytes`, with `usage`. */
  get(name: string, bytes: number, usage: number): GPUBuffer {
    const have = this.buffers.get(name);
    if (have !== undefined && have.size >= bytes && have.usage === usage) return have;
    // Grow by at least 1.5x so a slowly growing sequence does not reallocate on every call.
    const size = have === undefined ? bytes : Math.max(bytes, Math.ceil(have.size * 1.5));
    const buffer = this.ctx.createBuffer(`${this.label}.${name}`, size, usage);
    if (have !== undefined) this.ctx.destroyBuffer(have);
    this.buffers.set(name, buffer);
    return buffer;
  }

  /** Destroys every buffer. */
  destroy(): void {
    for (const b of this.buffers.values()) this.ctx.destroyBuffer(b);
    this.buffers.clear();
  }
}

/** Runs async tasks one after another (each module's workspace and staging buffer serve one call at a time). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once everything queued so far has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}

/** `GPUBufferUsage.STORAGE`, spelled out so this module loads where WebGPU's globals do not exist (Node tests). */
const STORAGE_BIT = 0x0080;

/** Storage usage for buffers the kernels read and write and that are copied to staging. */
export const STORAGE_USAGE = 0x0080 /* STORAGE */ | 0x0008 /* COPY_DST */ | 0x0004; /* COPY_SRC */
/** Uniform buffers, rewritten with `writeBuffer` before each dispatch. */
export const UNIFORM_USAGE = 0x0040 /* UNIFORM */ | 0x0008; /* COPY_DST */
/** Readback buffers. */
export const STAGING_USAGE = 0x0001 /* MAP_READ */ | 0x0008; /* COPY_DST */

/** `GPUMapMode.READ`. */
const MAP_READ = 0x0001;
