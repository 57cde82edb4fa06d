import { runPhase, type PackedModule } from './forward-phases.js';
import { ScratchPool } from './scratch.js';
import { SYNC_DONE, SYNC_POSTED, type FromWorker, type ToWorker } from './thread-protocol.js';

/**
 * The worker side of the threaded mode, independent of the platform: the Node and Web worker entries
 * only wire it to their message ports. Returns the handler for incoming messages; answers go through
 * `post`. A task runs the same {@link runPhase} as the main thread, on the shared buffers it names.
 */
export function createTaskHandler(post: (message: FromWorker) => void): (message: ToWorker) => void {
  const modules = new Map<number, PackedModule>();
  let scratch: ScratchPool | undefined;
  let sync: Int32Array | undefined;

  return (message) => {
    switch (message.kind) {
      case 'init':
        scratch = new ScratchPool(message.retainScratch);
        sync = message.sync;
        return;
      case 'register':
        modules.set(message.module, message.packed);
        return;
      case 'unregister':
        modules.delete(message.module);
        return;
      case 'task': {
        try {
          const packed = modules.get(message.module);
          if (scratch === undefined || sync === undefined) throw new Error('task before init');
          if (packed === undefined) throw new Error(`module ${message.module} is not registered with this worker`);
          Atomics.load(sync, SYNC_POSTED); // see SYNC_POSTED: makes the main thread's writes visible
          try {
            runPhase(packed, message.buffers, message.phase, message.start, message.end, scratch);
          } finally {
            scratch.release();
          }
          Atomics.store(sync, SYNC_DONE, message.job);
          post({ kind: 'done', job: message.job });
        } catch (e) {
          post({ kind: 'failed', job: message.job, message: e instanceof Error ? e.message : String(e) });
        }
        return;
      }
      default:
        post({ kind: 'fatal', message: `unknown message ${JSON.stringify((message as { kind?: unknown }).kind)}` });
    }
  };
}
