// Backends that get every number right and break the error contract the way a third party would:
// written without defineBackend, validating on their own (right codes, their own field names or
// value descriptions), or handing out a live config. Only the field/value and config checks of the
// errors group can catch them.
import { isMhaError, MhaError, MhaErrorCode, plainView, privateCopy, resolveConfig, typedArrayKind, validateWeights, type MhaBackend, type MhaModule, type Tensor } from '@mha/core';
import { buggyBackend } from '../buggy-backends.js';

/** The error-contract bugs {@link errorBuggyBackend} can inject. */
export const ERROR_BUGS = ['renamed-fields', 'described-values', 'live-config'] as const;

/** One of {@link ERROR_BUGS}. */
export type ErrorBug = (typeof ERROR_BUGS)[number];

/**
 * `renamed-fields`: the right code, but the field without its namespace (`dIn` for `config.dIn`,
 * `wq` for `weights.wq`), as a backend validating with its own names would report it.
 * `described-values`: the right code and field, but the value turned into a string for the message.
 */
function rewrite(bug: ErrorBug, e: unknown): unknown {
  if (!isMhaError(e)) return e;
  if (bug === 'renamed-fields') return new MhaError(e.code, e.field.replace(/^[A-Za-z]+\./, ''), e.value, e.message);
  if (bug === 'described-values') return new MhaError(e.code, e.field, describe(e.value), e.message);
  return e;
}

/** A copy of a well-formed tensor taken now; anything else is passed on for core to refuse. */
function snapshot(x: Tensor): Tensor {
  const data: unknown = typeof x === 'object' && x !== null ? x.data : undefined;
  if (typedArrayKind(data) !== 'Float32Array' || !Array.isArray(x.shape)) return x;
  return { data: privateCopy(Float32Array, plainView(Float32Array, data as Float32Array)), shape: [...x.shape] };
}

function describe(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * A correct float64 implementation (`buggyBackend('none')`) behind a hand-written {@link MhaBackend}
 * (no defineBackend) with one error-contract bug.
 */
export function errorBuggyBackend(bug: ErrorBug): MhaBackend {
  const inner = buggyBackend('none');
  const name = `buggy-${bug}`;
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw rewrite(bug, e);
    }
  };
  const disposedError = () => new MhaError(MhaErrorCode.Disposed, 'module', name, 'forward() after dispose()');
  return {
    name,
    runtimes: inner.runtimes,
    capabilities: inner.capabilities,
    async createModule(config, weights): Promise<MhaModule> {
      let disposed = false;
      if (bug === 'live-config') {
        // The bug: module.config is a plain mutable object, and every forward builds from it.
        const live = { ...resolveConfig(config) };
        const owned = validateWeights(resolveConfig(config), weights);
        return {
          backend: name,
          config: live,
          get disposed() {
            return disposed;
          },
          async forward(x, options) {
            if (disposed) throw disposedError();
            // x is read during the call (SPEC.md, "Lifecycle"), so the live config is this backend's only bug.
            const input = snapshot(x);
            const m = await inner.createModule({ ...live }, owned);
            try {
              return await m.forward(input, options);
            } finally {
              await m.dispose();
            }
          },
          async dispose() {
            disposed = true;
          },
        };
      }
      const m = await guard(() => inner.createModule(config, weights));
      return {
        backend: name,
        config: m.config,
        get disposed() {
          return disposed;
        },
        forward: (x, options) => (disposed ? Promise.reject(disposedError()) : guard(() => m.forward(x, options))),
        async dispose() {
          disposed = true;
          await m.dispose();
        },
      };
    },
    attention: (q, k, v, options) => guard(() => inner.attention(q, k, v, options)),
    dispose: () => inner.dispose(),
    diagnostics: () => inner.diagnostics(),
  };
}
