import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer } from './coalescer.ts';

describe('Coalescer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs once after a quiet period', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    for (let i = 0; i < 5; i++) {
      c.trigger();
      vi.advanceTimersByTime(5);
    }
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('runs by the maximum delay even if triggers never stop', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    for (let t = 0; t < 250; t += 5) {
      c.trigger();
      vi.advanceTimersByTime(5);
    }
    expect(run.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(run.mock.calls.length).toBeLessThanOrEqual(3);
  });

  it('flush runs at once only when something waits', () => {
    const run = vi.fn();
    const c = new Coalescer(10, 100, run);
    c.flush();
    expect(run).not.toHaveBeenCalled();
    c.trigger();
    c.flush();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(200);
    expect(run).toHaveBeenCalledTimes(1);
  });
});
