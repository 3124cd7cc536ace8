import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

describe('backoff', () => {
  it('doubles up to the maximum, with half of each step jittered', () => {
    const low = new Backoff({ initialMs: 200, maxMs: 5_000 }, () => 0);
    expect(Array.from({ length: 7 }, () => low.next())).toEqual([100, 200, 400, 800, 1600, 2500, 2500]);
    const high = new Backoff({ initialMs: 200, maxMs: 5_000 }, () => 1);
    expect(Array.from({ length: 7 }, () => high.next())).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('starts over after a reset', () => {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 }, () => 1);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(200);
  });
});
