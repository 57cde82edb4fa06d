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
}

/**
 * The workers of one backend, shared by all its modules, created on first use and stopped by
 * {@link WorkerPool.dispose}. A module's packed weights are posted to a worker once (on the first task
 * for that module there) and dropped by {@link WorkerPool.forget}; tasks carry only unit ranges and
 * handles to shared buffers.
 *
 * Failures never hang a caller: an error thrown inside a task rejects that task; a worker that dies,
 * fails to load or sends something unexpected rejects every task in flight on any worker, and all
 * workers of that generation are stopped before the rejections are delivered (so none can still be
 * writing to shared buffers). The next task starts fresh workers.
 */
export class WorkerPool {
  #generation: Generation | undefined;
  #starting: Promise<Generation> | undefined;
  #nextJob = 1;
  #nextModule = 1;

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

  /** A fresh module id. */
  newModuleId(): number {
    return this.#nextModule++;
  }

  /**
   * Starts the workers unless they are running. Awaiting this before a forward's first phase lets
   * every later {@link WorkerPool.run} post its task at once, so workers start while the main thread
   * computes its own share.
   */
  start(): Promise<void> {
    if (this.#generation !== undefined) return Promise.resolve();
    return this.#start().then(() => undefined);
  }

  /** Runs `task` on worker `index` (`0 <= index < size`); resolves when its outputs are in shared memory. */
  run(index: number, module: PoolModule, task: PoolTask): Promise<void> {
    if (this.#generation !== undefined) return this.#post(this.#generation, index, module, task);
    return this.#start().then((g) => this.#post(g, index, module, task));
  }

  /** Drops a disposed module's weights from the workers that hold them. */
  forget(moduleId: number): void {
    for (const slot of this.#generation?.slots ?? []) {
      if (slot.registered.delete(moduleId)) slot.link?.post({ kind: 'unregister', module: moduleId });
    }
  }

  /** Lets tasks in flight finish, then stops the workers. A later task starts new ones. */
  async dispose(): Promise<void> {
    const g = this.#generation ?? (await this.#starting?.catch(() => undefined));
    if (g === undefined) return;
    if (this.#generation === g) this.#generation = undefined;
    this.#starting = undefined;
    g.retired = true;
    g.stopped ??= (async () => {
      await g.idle;
      await Promise.all(g.slots.map((s) => s.link?.terminate()));
      // Unreachable while retired generations take no tasks; kept so a bug here can never hang a caller.
      for (const s of g.slots) for (const job of s.jobs.values()) job.reject(new Error('ts-threads: the workers were stopped by dispose()'));
    })();
    await g.stopped;
  }

  #start(): Promise<Generation> {
    this.#starting ??= this.#spawn().then(
      (g) => {
        this.#generation = g;
        return g;
      },
      (e: unknown) => {
        this.#starting = undefined;
        throw new Error(`ts-threads: cannot start worker threads (${messageOf(e)}); use threads: 1 for the single-threaded backend`, { cause: e });
      },
    );
    return this.#starting;
  }

  async #spawn(): Promise<Generation> {
    const spawn = await this.loadSpawner();
    const g: Generation = { slots: [], retired: false, failed: false, stopped: undefined, idle: undefined, notifyIdle: undefined };
    try {
      for (let i = 0; i < this.size; i++) {
        const slot: Slot = { link: undefined, sync: new Int32Array(new SharedArrayBuffer(8)), registered: new Set(), jobs: new Map() };
        g.slots.push(slot);
        slot.link = spawn({
          message: (m) => this.#onMessage(g, i, m),
          failure: (e) => void this.#fail(g, i, e),
        });
        slot.link.post({ kind: 'init', retainScratch: this.retainScratch, sync: slot.sync });
      }
    } catch (e) {
      await Promise.allSettled(g.slots.map((s) => s.link?.terminate()));
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

  async #fail(g: Generation, index: number, cause: Error): Promise<void> {
    if (g.failed) return;
    g.failed = true;
    g.retired = true;
    if (this.#generation === g) {
      this.#generation = undefined;
      this.#starting = undefined;
    }
    const pending = g.slots.flatMap((s) => [...s.jobs.values()]);
    for (const s of g.slots) s.jobs.clear();
    await Promise.allSettled(g.slots.map((s) => s.link?.terminate()));
    g.notifyIdle?.();
    const error = new Error(`ts-threads: worker ${index + 1} stopped: ${cause.message}`, { cause });
    for (const job of pending) job.reject(error);
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
