import { afterEach, describe, expect, it } from 'vitest';
import { detectRuntime } from './runtime.js';

const g = globalThis as Record<string, unknown>;
afterEach(() => {
  delete g.Deno;
  delete g.Bun;
  delete g.EdgeRuntime;
});

describe('detectRuntime', () => {
  it('is node under vitest', () => expect(detectRuntime()).toBe('node'));
  it('recognises Deno, Bun and edge runtimes by their globals', () => {
    g.Deno = {};
    expect(detectRuntime()).toBe('deno');
    delete g.Deno;
    g.Bun = {};
    expect(detectRuntime()).toBe('bun');
    delete g.Bun;
    g.EdgeRuntime = 'edge-runtime';
    expect(detectRuntime()).toBe('edge');
  });
});
