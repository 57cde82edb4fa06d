import { MhaError, MhaErrorCode } from '@mha/core';
import type { ForwardBuffers, PackedModule, Phase } from './forward-phases.js';
import { SYNC_DONE, SYNC_POSTED, type FromWorker } from './thread-protocol.js';
import type { SpawnWorker, WorkerLink } from './worker-host.js';

/** A module as the pool knows it: an id and its packed weights (on shared memory). */
export interface PoolModule {
  readonly id: number;
  readonly packed: PackedModule;
}

/** One unit range of one phase of one forward, for one worker. */
export interface PoolTask {
  readonly phase: Phase;
  readonly start: number;
  readonly end: number;
  readonly buffers: ForwardBuffers;
}

interface Job {
  readonly phase: Phase;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  link: WorkerLink | undefined;
  readonly sync: Int32Array;
  /** Modules whose weights this worker holds. */
  readonly registered: Set<number>;
  readonly jobs: Map<number, Job>;
  /** Set once the worker is being stopped; settles when it has. */
  stopped: Promise<void> | undefined;
}

/** One set of live workers. A failure retires the whole generation; the next task starts a new one. */
interface Generation {
  readonly slots: Slot[];
  /** Failed or disposed: takes no new tasks. */
  retired: boolean;
  /** A worker failed and every job in flight was rejected. */
  failed: boolean;
  /** Set by dispose: settles once the workers have stopped. */
  stopped: Promise<void> | undefined;
  /** Settles when no job is in flight. */
  idle: Promise<void> | undefined;
  notifyIdle: (() => void) | undefined;
  /** Bytes of weights its workers were told to drop (see {@link RECYCLE_BYTES}). */
  releasedBytes: number;
}

/**
 * A worker drops a module's weights by deleting its reference, but an idle worker allocates nothing,
 * so its garbage collector may never run and the shared memory stays mapped. Once the workers of a
 * generation have dropped this many bytes, and more than they still hold, they are replaced (when
 * idle; the next forward starts fresh ones), which frees that memory for certain.
 */
export const RECYCLE_BYTES = 64 * 2 ** 20;

/** What {@link WorkerPool.diagnostics} counts (the ts-threads backend's `diagnostics()`). */
export interface PoolDiagnostics {
  /** Modules of this backend neither disposed nor garbage-collected. */
  readonly modules: number;
  /** Worker threads running. */
  readonly workers: number;
  /** Module registrations the workers hold (a module used on 2 workers counts twice). */
  readonly workerModules: number;
  /** Bytes of packed weights the workers keep alive (each module's shared panels counted once). */
  readonly pinnedBytes: number;
}

/**
 * The workers of one backend, shared by all its modules, created on first use and stopped by
 * {@link WorkerPool.dispose}. A module's packed weights are posted to a worker once (on the first task
 * for that module there) and dropped by {@link WorkerPool.forget}, called by `module.dispose()` or,
 * for a module dropped without dispose, once the module has been garbage-collected (where the runtime
 * has `FinalizationRegistry`); tasks carry only unit ranges and handles to shared buffers.
 *
 * Failures never hang a caller: an error thrown inside a task rejects that task; a worker that dies,
 * fails to load or sends something unexpected rejects every task in flight on any worker with
 * `MHA_BACKEND_UNAVAILABLE`, and all workers of that generation are stopped before the rejections are
 * delivered (so none can still be writing to shared buffers). The next task starts fresh workers.
 * Workers that cannot be started at all make {@link WorkerPool.start} answer `false` (the caller
 * computes alone) and leave the reason in {@link WorkerPool.unavailable}.
 */
export class WorkerPool {
  #generation: Generation | undefined;
  #starting: Promise<Generation> | undefined;
  /** Generations being stopped (by dispose or after a failure): dispose() waits for all of them. */
  readonly #stopping = new Set<Promise<unknown>>();
  #unavailable: string | undefined;
  /** Workers started and not yet stopped (including those of generations being stopped). */
  #running = 0;
  #nextJob = 1;
  #nextModule = 1;
  /** Live modules: id -> bytes of their packed weights. */
  readonly #modules = new Map<number, number>();
  readonly #collected = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<number>((id) => this.forget(id)) : undefined;

  /**
   * @param size - number of workers (the main thread computes a share too).
   * @param loadSpawner - loads the platform's worker glue, on first use.
   * @param retainScratch - whether workers keep their scratch between tasks.
   */
  constructor(
    readonly size: number,
    private readonly loadSpawner: () => Promise<SpawnWorker>,
    private readonly retainScratch: boolean,
  ) {}

  /**
   * Registers a module and returns its id. `owner` is the object that keeps the module usable (its
   * kernel holds it); once `owner` is garbage-collected the workers drop the module's weights.
   */
  addModule(owner: object, packed: PackedModule): number {
    const id = this.#nextModule++;
    this.#modules.set(id, packedBytes(packed));
    this.#collected?.register(owner, id, owner);
    return id;
  }

  /** Why the last attempt to start workers failed; `undefined` when they run or were never needed. */
  get unavailable(): string | undefined {
    return this.#unavailable;
  }

  /**
   * Starts the workers unless they are running; `false` when they cannot be started (the reason is in
   * {@link WorkerPool.unavailable}; the next call tries again). Awaiting this before a forward's first
   * phase lets every later {@link WorkerPool.run} post its task at once, so workers start while the
   * main thread computes its own share.
   */
  async start(): Promise<boolean> {
    if (this.#generation !== undefined) return true;
    try {
      await this.#start();
      return true;
    } catch {
      return false;
    }
  }

  /** Runs `task` on worker `index` (`0 <= index < size`); resolves when its outputs are in shared memory. */
  run(index: number, module: PoolModule, task: PoolTask): Promise<void> {
    if (this.#generation !== undefined) return this.#post(this.#generation, index, module, task);
    return this.#start().then((g) => this.#post(g, index, module, task));
  }

  /** Drops a module's weights from the workers that hold them (disposed, or garbage-collected). */
  forget(moduleId: number, owner?: object): void {
    if (owner !== undefined) this.#collected?.unregister(owner);
    const bytes = this.#modules.get(moduleId) ?? 0;
    this.#modules.delete(moduleId);
    const g = this.#generation;
    if (g === undefined) return;
    let held = false;
    for (const slot of g.slots) {
      if (slot.registered.delete(moduleId)) {
        slot.link?.post({ kind: 'unregister', module: moduleId });
        held = true;
      }
    }
    if (held) g.releasedBytes += bytes;
    if (g.releasedBytes >= RECYCLE_BYTES && g.releasedBytes > this.diagnostics().pinnedBytes) this.#retire(g);
  }


  /** Counters of live resources, see {@link PoolDiagnostics}. */
  diagnostics(): PoolDiagnostics {
    const slots = this.#generation?.retired === false ? this.#generation.slots : [];
    const held = new Set<number>();
    let workerModules = 0;
    for (const slot of slots) {
      workerModules += slot.registered.size;
      for (const id of slot.registered) held.add(id);
    }
    let pinnedBytes = 0;
    for (const id of held) pinnedBytes += this.#modules.get(id) ?? 0;
    return { modules: this.#modules.size, workers: this.#running, workerModules, pinnedBytes };
  }

  /**
   * Lets tasks in flight finish, then stops the workers. Resolves only once every worker this pool
   * started has stopped, also when called again (or concurrently). A later task starts new ones.
   */
  async dispose(): Promise<void> {
    const g = this.#generation ?? (await this.#starting?.catch(() => undefined));
    if (g !== undefined) this.#retire(g);
    while (this.#stopping.size > 0) await Promise.allSettled([...this.#stopping]);
  }

  /** Takes `g` out of service: it takes no new tasks; its workers stop once the tasks in flight are done. */
  #retire(g: Generation): void {
    if (g.stopped !== undefined || g.failed) return;
    if (this.#generation === g) {
      this.#generation = undefined;
      this.#starting = undefined;
    }
    g.retired = true;
    g.stopped = this.#track(
      (async () => {
        await g.idle;
        await this.#terminate(g);
        // Unreachable while retired generations take no tasks; kept so a bug here can never hang a caller.
        for (const s of g.slots) for (const job of s.jobs.values()) job.reject(new Error('ts-threads: the workers were stopped by dispose()'));
      })(),
    );
  }


  /** Stops every worker of `g` (each once); settles when all have stopped. */
  #terminate(g: Generation): Promise<unknown> {
    return Promise.allSettled(
      g.slots.map((s) => {
        const link = s.link;
        if (link === undefined) return undefined;
        s.stopped ??= link.terminate().finally(() => this.#running--);
        return s.stopped;
      }),
    );
  }

  /** Adds `p` to the stops dispose() waits for, until it settles. */
  #track(p: Promise<void>): Promise<void> {
    this.#stopping.add(p);
    void p.finally(() => this.#stopping.delete(p));
    return p;
  }

  #start(): Promise<Generation> {
    this.#starting ??= this.#spawn().then(
      (g) => {
        this.#generation = g;
        this.#unavailable = undefined;
        return g;
      },
      (e: unknown) => {
        this.#starting = undefined;
        this.#unavailable = `worker threads could not be started: ${messageOf(e)}`;
        throw new MhaError(MhaErrorCode.BackendUnavailable, 'options.threads', this.size + 1, `ts-threads: cannot start worker threads (${messageOf(e)}); use threads: 1 for the single-threaded backend`);
      },
    );
    return this.#starting;
  }

  async #spawn(): Promise<Generation> {
    const spawn = await this.loadSpawner();
    const g: Generation = { slots: [], retired: false, failed: false, stopped: undefined, idle: undefined, notifyIdle: undefined, releasedBytes: 0 };
    try {
      for (let i = 0; i < this.size; i++) {
        const slot: Slot = { link: undefined, sync: new Int32Array(new SharedArrayBuffer(8)), registered: new Set(), jobs: new Map(), stopped: undefined };
        g.slots.push(slot);
        slot.link = spawn({
          message: (m) => this.#onMessage(g, i, m),
          failure: (e) => void this.#fail(g, i, e),
        });
        this.#running++;
        slot.link.post({ kind: 'init', retainScratch: this.retainScratch, sync: slot.sync });
      }
    } catch (e) {
      await this.#terminate(g);
      throw e;
    }
    return g;
  }

  #post(g: Generation, index: number, module: PoolModule, task: PoolTask): Promise<void> {
    // Retired between start() and this call (dispose or a failure elsewhere): use the next generation.
    if (g.retired) return this.run(index, module, task);
    const slot = g.slots[index];
    if (slot?.link === undefined) return Promise.reject(new RangeError(`ts-threads: no worker ${index}`));
    const link = slot.link;
    if (!slot.registered.has(module.id)) {
      link.post({ kind: 'register', module: module.id, packed: module.packed });
      slot.registered.add(module.id);
    }
    const job = this.#nextJob++;
    return new Promise<void>((resolve, reject) => {
      if (g.idle === undefined) g.idle = new Promise<void>((r) => (g.notifyIdle = r));
      slot.jobs.set(job, { phase: task.phase, resolve, reject });
      if (slot.jobs.size === 1) link.setBusy(true);
      Atomics.store(slot.sync, SYNC_POSTED, job);
      link.post({ kind: 'task', job, module: module.id, phase: task.phase, start: task.start, end: task.end, buffers: task.buffers });
    });
  }

  #onMessage(g: Generation, index: number, m: FromWorker): void {
    if (m.kind === 'fatal') {
      void this.#fail(g, index, new Error(m.message));
      return;
    }
    const slot = g.slots[index]!;
    const job = slot.jobs.get(m.job);
    if (job === undefined) return; // its generation already failed and rejected it
    this.#settle(g, slot, m.job);
    if (m.kind === 'done') {
      Atomics.load(slot.sync, SYNC_DONE); // see SYNC_POSTED: makes the worker's writes visible
      job.resolve();
    } else {
      job.reject(new Error(`ts-threads: worker ${index + 1} failed in the ${job.phase} phase: ${m.message}`));
    }
  }

  #settle(g: Generation, slot: Slot, job: number): void {
    slot.jobs.delete(job);
    if (slot.jobs.size === 0) slot.link?.setBusy(false);
    if (g.slots.every((s) => s.jobs.size === 0)) {
      g.notifyIdle?.();
      g.idle = undefined;
      g.notifyIdle = undefined;
    }
  }

  #fail(g: Generation, index: number, cause: Error): Promise<void> {
    if (g.failed) return Promise.resolve();
    g.failed = true;
    g.retired = true;
    if (this.#generation === g) {
      this.#generation = undefined;
      this.#starting = undefined;
    }
    const pending = g.slots.flatMap((s) => [...s.jobs.values()]);
    for (const s of g.slots) s.jobs.clear();
    return this.#track(
      (async () => {
        await this.#terminate(g);
        g.notifyIdle?.();
        const error = new MhaError(
          MhaErrorCode.BackendUnavailable,
          'worker',
          index + 1,
          `ts-threads: worker ${index + 1} stopped: ${cause.message}. Every task in flight was cancelled; the next forward starts new workers`,
        );
        error.cause = cause;
        for (const job of pending) job.reject(error);
      })(),
    );
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Bytes of a module's packed weights (the shared memory a worker holding the module keeps alive). */
function packedBytes(m: PackedModule): number {
  return m.wqkv.data.byteLength + (m.bqkv?.byteLength ?? 0) + (m.wo?.data.byteLength ?? 0) + (m.bo?.byteLength ?? 0);
}
