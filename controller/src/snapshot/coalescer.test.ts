import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer } from './coalescer.ts';

describe('Coalescer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs a lone trigger at once, and again at once after a quiet period', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    c.trigger();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(50);
    c.trigger();
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('holds triggers that follow a run until a quiet period', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    c.trigger();
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(5);
      c.trigger();
    }
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('runs by the maximum delay even if triggers never stop', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    for (let t = 0; t < 250; t += 5) {
      c.trigger();
      vi.advanceTimersByTime(5);
    }
    // The first at once, then one per maximum delay.
    expect(run.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(run.mock.calls.length).toBeLessThanOrEqual(4);
  });

  it('turns 1,000 triggers in a second into a handful of runs', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    for (let i = 0; i < 1_000; i++) {
      c.trigger();
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(100);
    expect(run.mock.calls.length).toBeLessThanOrEqual(12);
  });

  it('flush runs at once only when something waits', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    c.flush();
    expect(run).not.toHaveBeenCalled();
    c.trigger();
    expect(run).toHaveBeenCalledTimes(1);
    c.trigger();
    c.flush();
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(200);
    expect(run).toHaveBeenCalledTimes(2);
  });
});
