import type { Runtime } from './backend.js';

/**
 * The JavaScript runtime this code runs in, from globals only (no imports, safe everywhere):
 * Deno and Bun announce themselves; edge workers (Vercel `EdgeRuntime`, Cloudflare's user agent) are
 * checked before Node because some emulate `process`; a `document` means a browser; else Node.
 */
export function detectRuntime(): Runtime {
  const g = globalThis as Record<string, unknown> & { navigator?: { userAgent?: string }; process?: { versions?: { node?: string } } };
  if (g.Deno !== undefined) return 'deno';
  if (g.Bun !== undefined) return 'bun';
  if (typeof g.EdgeRuntime === 'string' || g.navigator?.userAgent === 'Cloudflare-Workers') return 'edge';
  if (g.process?.versions?.node !== undefined) return 'node';
  if (g.document !== undefined || g.window !== undefined) return 'browser';
  // A worker without `document` (Web Worker, service worker) is still a browser runtime.
  return 'browser';
}
