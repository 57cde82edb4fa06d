/** Main thread -> worker. */
export type ToWorker =
  /** Instantiate the threads build on the shared memory (both structured-cloned, the memory shared). */
  | { readonly type: 'init'; readonly module: object; readonly memory: object }
  /** Call one kernel export with these arguments (pointers into the shared memory). */
  | { readonly type: 'run'; readonly id: number; readonly fn: 'gemm' | 'attention'; readonly args: readonly number[] };

/** Worker -> main thread: a `run` finished, or failed with a message. */
export type FromWorker = { readonly type: 'done'; readonly id: number } | { readonly type: 'error'; readonly id: number; readonly message: string };

/** The message handler of a worker, the same for Node and Web workers. */
export function createWorkerHandler(reply: (m: FromWorker) => void): (m: ToWorker) => Promise<void> {
  let kernels: Record<string, (...args: number[]) => void> | undefined;
  let ready: Promise<void> | undefined;
  return async (m) => {
    if (m.type === 'init') {
      const api = (globalThis as unknown as { WebAssembly: { instantiate(module: object, imports: object): Promise<{ exports: object }> } }).WebAssembly;
      ready = api.instantiate(m.module, { env: { memory: m.memory } }).then((instance) => {
        kernels = instance.exports as Record<string, (...args: number[]) => void>;
      });
      return;
    }
    try {
      await ready;
      kernels![m.fn]!(...m.args);
      reply({ type: 'done', id: m.id });
    } catch (e) {
      reply({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) });
    }
  };
}
