import { MhaError, MhaErrorCode } from '@mha/core';
import type { FromWorker, ToWorker } from './thread-protocol.js';
import type { WasmRuntime } from './runtime.js';
import type { WasmBackendOptions } from './index.js';

/** One kernel call: an export of the threads build and its arguments. */
export interface KernelCall {
  readonly fn: 'gemm' | 'attention';
  readonly args: readonly number[];
}

/** One worker, as the pool drives it. */
export interface Link {
  post(m: ToWorker): void;
  setBusy(busy: boolean): void;
  terminate(): Promise<void>;
}

/** Starts one worker whose messages go to `onMessage` and whose failure goes to `onFailure`. */
export type Spawn = (onMessage: (m: FromWorker) => void, onFailure: (e: Error) => void) => Link;

/**
 * Node's `worker_threads` (through `#worker-host-node`, which a browser bundle resolves to a stand-in,
 * so it holds no Node code) or Web Workers. `workerUrl`: where the Web Worker script is, when the
 * bundler did not emit it (see {@link WasmBackendOptions.workerUrl}).
 */
async function spawner(workerUrl: string | undefined): Promise<Spawn> {
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  if (typeof proc?.versions?.node === 'string') return (await import('#worker-host-node')).nodeWorkerSpawner();
  return (await import('./worker-host-web.js')).webWorkerSpawner(workerUrl);
}

/**
 * `size - 1` workers, each with its own instance of the threads build on the runtime's shared memory,
 * plus the calling thread. Started on first use; idle workers never keep a Node process alive.
 */
export class ThreadPool {
  private links: Link[] | undefined;
  private starting: Promise<Link[]> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(): void; reject(e: Error): void; link: Link }>();
  private busy = new Map<Link, number>();

  constructor(
    readonly size: number,
    private readonly rt: WasmRuntime,
    private readonly workerUrl?: string,
  ) {}

  private start(): Promise<Link[]> {
    if (this.links) return Promise.resolve(this.links);
    this.starting ??= spawner(this.workerUrl).then((spawn) => {
      try {
        return this.spawnAll(spawn);
      } catch (e) {
        this.starting = undefined;
        const err = new MhaError(MhaErrorCode.BackendUnavailable, 'threads', this.size, `could not start worker threads: ${e instanceof Error ? e.message : String(e)}`);
        Object.defineProperty(err, 'cause', { value: e, configurable: true, writable: true, enumerable: false });
        throw err;
      }
    });
    return this.starting;
  }

  private spawnAll(spawn: Spawn): Link[] {
    const links: Link[] = [];
    try {
      for (let i = 0; i < this.size - 1; i++) {
        const link = spawn(
          (m) => this.settle(m),
          (e) => this.fail(link, e),
        );
        link.post({ type: 'init', module: this.rt.shared!.module, memory: this.rt.shared!.memory });
        links.push(link);
      }
    } catch (e) {
      for (const l of links) void l.terminate().catch(() => {});
      throw e;
    }
    this.links = links;
    this.starting = undefined;
    return links;
  }


  private settle(m: FromWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.markIdle(p.link);
    if (m.type === 'done') p.resolve();
    else p.reject(new MhaError(MhaErrorCode.BackendUnavailable, 'worker', m.message, 'a worker thread failed'));
  }

  private fail(link: Link, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.link !== link) continue;
      this.pending.delete(id);
      p.reject(new MhaError(MhaErrorCode.BackendUnavailable, 'worker', e.message, 'a worker thread failed'));
    }
    // Replace the whole pool on the next call.
    const links = this.links;
    this.links = undefined;
    this.busy = new Map();
    if (links) for (const l of links) void l.terminate().catch(() => {});
  }

  private markIdle(link: Link): void {
    const n = (this.busy.get(link) ?? 1) - 1;
    this.busy.set(link, n);
    if (n === 0) link.setBusy(false);
  }

  /**
   * Runs `calls[0]` on the calling thread and the others on workers; resolves when all are done. Calls
   * must touch disjoint outputs. `calls.length` is at most `size`.
   */
  async run(calls: readonly KernelCall[]): Promise<void> {
    if (calls.length === 1) {
      this.call(calls[0]!);
      return;
    }
    const links = await this.start();
    const done = calls.slice(1).map(
      (c, i) =>
        new Promise<void>((resolve, reject) => {
          const link = links[i]!;
          const id = this.nextId++;
          this.pending.set(id, { resolve, reject, link });
          const n = (this.busy.get(link) ?? 0) + 1;
          this.busy.set(link, n);
          if (n === 1) link.setBusy(true);
          link.post({ type: 'run', id, fn: c.fn, args: c.args });
        }),
    );
    try {
      this.call(calls[0]!);
    } finally {
      // Wait for every worker even if the main thread's part threw, so no buffer is freed under them.
      const results = await Promise.allSettled(done);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  }

  private call(c: KernelCall): void {
    (this.rt.kernels[c.fn] as (...args: number[]) => void)(...c.args);
  }

  /** Workers currently running. */
  get workers(): number {
    return this.links?.length ?? 0;
  }

  /** Stops the workers (a later `run` starts new ones). */
  async dispose(): Promise<void> {
    const links = this.links ?? (this.starting ? await this.starting : []);
    this.links = undefined;
    await Promise.all(links.map((l) => l.terminate()));
  }
}
