// tfjs keeps ONE active backend per process (tf.setBackend is global and async). Every call of this
// package that touches tensors runs through one process-wide queue, so a tfjs-cpu call and a tfjs-wasm
// call can never interleave between "switch backend" and "compute". The queue lives on globalThis under
// a registered symbol: two copies of this package in one process (two versions, or the same file
// imported under two URLs) share it, just as they share tfjs's global engine.

const QUEUE = Symbol.for('@mha/backend-tfjs.exclusive-queue');

interface Queue {
  tail: Promise<void>;
}

function queue(): Queue {
  const g = globalThis as { [QUEUE]?: Queue };
  return (g[QUEUE] ??= { tail: Promise.resolve() });
}

/**
 * Runs `task` after every task queued before it has settled, and before any task queued after it starts.
 * A failing task does not block the queue.
 */
export function exclusive<T>(task: () => Promise<T>): Promise<T> {
  const q = queue();
  const run = q.tail.then(task);
  q.tail = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}
