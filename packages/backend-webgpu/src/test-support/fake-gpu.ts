// A stand-in for `navigator.gpu` in Node, where no WebGPU adapter exists: it records what the backend
// creates and lets a test make each step fail (no adapter, refused device, out of memory, validation
// error, device loss, a readback that never settles). It computes nothing: read-backs are zeros.

export interface FakeGpuOptions {
  adapter?: 'ok' | 'null' | 'throw';
  device?: 'ok' | 'reject';
  /** What the next popErrorScope calls report, by filter. */
  scopeErrors?: { 'out-of-memory'?: boolean; validation?: boolean };
  /** 'hang': mapAsync never settles (until the device is lost). */
  map?: 'ok' | 'hang';
  maxStorageBufferBindingSize?: number;
}

export interface FakeBuffer {
  readonly label: string;
  readonly size: number;
  readonly usage: number;
  destroyed: boolean;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface FakeDevice {
  readonly buffers: FakeBuffer[];
  readonly shaders: string[];
  readonly dispatches: { label: string; grid: number[] }[];
  readonly writes: { buffer: FakeBuffer; bytes: number }[];
  /** Resolves `device.lost` as a driver crash would. */
  lose(message?: string): void;
  destroyed: boolean;
}

export interface FakeGpu {
  readonly gpu: { requestAdapter(): Promise<unknown> };
  readonly options: FakeGpuOptions;
  readonly devices: FakeDevice[];
  adapterRequests: number;
}

export function fakeGpu(options: FakeGpuOptions = {}): FakeGpu {
  const state: FakeGpu = {
    options,
    devices: [],
    adapterRequests: 0,
    gpu: {
      async requestAdapter() {
        state.adapterRequests++;
        const mode = options.adapter ?? 'ok';
        if (mode === 'throw') throw new Error('adapter request failed');
        if (mode === 'null') return null;
        const limit = options.maxStorageBufferBindingSize ?? 1 << 27;
        return {
          info: { vendor: 'fake', architecture: 'fake' },
          limits: { maxStorageBufferBindingSize: limit, maxBufferSize: limit },
          async requestDevice() {
            if ((options.device ?? 'ok') === 'reject') throw new Error('device refused');
            const d = makeDevice(options, limit);
            state.devices.push(d.record);
            return d.device;
          },
        };
      },
    },
  };
  return state;
}

function makeDevice(options: FakeGpuOptions, limit: number): { device: unknown; record: FakeDevice } {
  let resolveLost!: (info: { reason: string; message: string }) => void;
  const lost = new Promise<{ reason: string; message: string }>((r) => (resolveLost = r));
  const record: FakeDevice = {
    buffers: [],
    shaders: [],
    dispatches: [],
    writes: [],
    destroyed: false,
    lose: (message = 'fake driver crash') => resolveLost({ reason: 'unknown', message }),
  };
  const scopes: string[] = [];
  const device = {
    lost,
    limits: { maxStorageBufferBindingSize: limit, maxBufferSize: limit, maxComputeWorkgroupsPerDimension: 65535 },
    queue: {
      writeBuffer(buffer: FakeBuffer, _offset: number, data: ArrayBufferLike | ArrayBufferView, _dataOffset?: number, size?: number) {
        record.writes.push({ buffer, bytes: size ?? (data as ArrayBuffer).byteLength });
      },
      submit() {},
    },
    createBuffer({ label, size, usage }: { label: string; size: number; usage: number }): FakeBuffer {
      const b: FakeBuffer = {
        label,
        size,
        usage,
        destroyed: false,
        mapAsync: () => ((options.map ?? 'ok') === 'hang' ? new Promise<void>(() => {}) : Promise.resolve()),
        getMappedRange: (offset = 0, s = size - offset) => new ArrayBuffer(s),
        unmap() {},
        destroy() {
          b.destroyed = true;
        },
      };
      record.buffers.push(b);
      return b;
    },
    createShaderModule({ code }: { code: string }) {
      record.shaders.push(code);
      return {};
    },
    createComputePipeline() {
      return { getBindGroupLayout: () => ({}) };
    },
    createBindGroup() {
      return {};
    },
    createCommandEncoder() {
      return {
        beginComputePass({ label }: { label: string }) {
          return {
            setPipeline() {},
            setBindGroup() {},
            dispatchWorkgroups: (...grid: number[]) => record.dispatches.push({ label, grid }),
            end() {},
          };
        },
        copyBufferToBuffer() {},
        finish: () => ({}),
      };
    },
    pushErrorScope(filter: string) {
      scopes.push(filter);
    },
    async popErrorScope() {
      const filter = scopes.pop() as 'out-of-memory' | 'validation';
      return options.scopeErrors?.[filter] ? { message: `fake ${filter} error` } : null;
    },
    destroy() {
      record.destroyed = true;
      resolveLost({ reason: 'destroyed', message: '' });
    },
  };
  return { device, record };
}
