import { MhaError, MhaErrorCode } from '@mha/core';
import type { GpuLike } from './gpu-like.js';

/** A device plus the promise that settles when it is lost; every GPU wait races that promise. */
export interface DeviceHandle {
  readonly device: GPUDevice;
  /** Rejects with `MHA_BACKEND_UNAVAILABLE` once the device is lost; never resolves otherwise. */
  readonly lost: Promise<never>;
  /** True after the device was lost (or destroyed). */
  readonly isLost: () => boolean;
  /** Adapter facts for reports (`architecture`, `vendor`), empty strings when the adapter hides them. */
  readonly info: { readonly vendor: string; readonly architecture: string };
}

/** `MHA_BACKEND_UNAVAILABLE` with the field and value that say what is missing here. */
export function unavailable(field: string, value: unknown, message: string): MhaError {
  return new MhaError(MhaErrorCode.BackendUnavailable, field, value, message);
}

/** `navigator.gpu` of this runtime, or undefined (Node, old browsers, WebGPU disabled). */
export function defaultGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? undefined;
}

/**
 * Requests an adapter and a device with the adapter's largest storage-buffer limits (the defaults, 128
 * MiB per binding, would refuse shapes the hardware can hold). Every failure becomes
 * `MHA_BACKEND_UNAVAILABLE`: no WebGPU, no adapter, a refused device.
 */
export async function acquireDevice(gpu: GpuLike | undefined, powerPreference?: 'low-power' | 'high-performance'): Promise<DeviceHandle> {
  if (gpu === undefined || gpu === null || typeof gpu.requestAdapter !== 'function') {
    throw unavailable('navigator.gpu', gpu, 'WebGPU is not available in this runtime (no navigator.gpu); use a browser with WebGPU enabled');
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = (await gpu.requestAdapter(powerPreference ? { powerPreference } : undefined)) as GPUAdapter | null;
  } catch (e) {
    throw unavailable('navigator.gpu.requestAdapter', describeError(e), 'requesting a WebGPU adapter failed');
  }
  if (adapter === null || adapter === undefined) {
    throw unavailable('adapter', null, 'navigator.gpu.requestAdapter() returned no adapter (WebGPU disabled, blocklisted GPU, or no GPU driver)');
  }
  const limits = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
      },
    });
  } catch (e) {
    throw unavailable('adapter.requestDevice', describeError(e), 'the WebGPU adapter refused to create a device');
  }
  let lostFlag = false;
  const lost = device.lost.then((info) => {
    lostFlag = true;
    throw unavailable('device', info.reason, `the WebGPU device was lost: ${info.message || info.reason}`);
  });
  // Nobody may be waiting when the device goes; the rejection is still observed by every later race.
  lost.catch(() => undefined);
  const adapterInfo = (adapter as { info?: { vendor?: string; architecture?: string } }).info;
  return {
    device,
    lost,
    isLost: () => lostFlag,
    info: { vendor: adapterInfo?.vendor ?? '', architecture: adapterInfo?.architecture ?? '' },
  };
}

/** A short, printable description of something thrown. */
export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Waits for `work`, or rejects with the device-lost error if the device goes first: a lost device
 * must never leave a caller waiting on a `mapAsync` or `onSubmittedWorkDone` that will not settle.
 */
export function raceLost<T>(handle: DeviceHandle, work: Promise<T>): Promise<T> {
  return Promise.race([work, handle.lost]);
}
