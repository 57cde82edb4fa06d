import { describe, expect, it } from 'vitest';
import { genTiming, pairedRounds } from './measure-decode.js';

describe('pairedRounds', () => {
  it('calls every function once per round, in an order rotated by one each round', async () => {
    const order: string[] = [];
    const calls = ['a', 'b', 'c'].map((name) => async () => {
      order.push(name);
    });
    const { timings, rounds } = await pairedRounds(calls, { warmupRounds: 1, minRounds: 3, budgetMs: 0, maxRounds: 10 });
    expect(rounds).toBe(3);
    // Warm-up round in order, then a b c / b c a / c a b.
    expect(order.join('')).toBe('abc' + 'abc' + 'bca' + 'cab');
    expect(timings.map((t) => t.samples)).toEqual([3, 3, 3]);
    for (const t of timings) {
      expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
      expect(t.medianMs).toBeLessThanOrEqual(t.maxMs);
      expect(t.cpuMedianMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('stops at maxRounds even when the budget is not spent', async () => {
    const { rounds } = await pairedRounds([async () => {}], { warmupRounds: 0, minRounds: 1, budgetMs: 1e9, maxRounds: 4 });
    expect(rounds).toBe(4);
  });
});

describe('genTiming', () => {
  it('reports the median run (the lower middle one of an even count), tokens/s and ms per token', () => {
    const g = genTiming([{ ms: 3000, cpu: 2000 }, { ms: 1000, cpu: 900 }, { ms: 2000, cpu: 1500 }], 250);
    expect(g).toEqual({ tokensPerSecond: 125, msPerToken: 8, cpuMsPerToken: 6, runs: 3 });
    expect(genTiming([{ ms: 2000, cpu: 1 }, { ms: 1000, cpu: 2 }], 100).msPerToken).toBe(10);
    expect(() => genTiming([], 1)).toThrow('no generation run');
  });
});
