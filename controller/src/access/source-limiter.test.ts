import { describe, expect, it } from 'vitest';
import { SourceLimiter } from './source-limiter.ts';

describe('source limiter', () => {
  it('lets a burst through, then one per interval, and says how long to wait', () => {
    let now = 0;
    const limiter = new SourceLimiter({ perSecond: 10, burst: 10, maxSources: 100 }, () => now);
    for (let i = 0; i < 10; i++) expect(limiter.take('10.0.0.1')).toBe(0);
    expect(limiter.take('10.0.0.1')).toBe(1);
    expect(limiter.take('10.0.0.2')).toBe(0); // another source has its own bucket
    now += 100;
    expect(limiter.take('10.0.0.1')).toBe(0);
    expect(limiter.take('10.0.0.1')).toBe(1);
  });

  it('keeps memory bounded under a flood of sources, forgetting the longest unseen', () => {
    let now = 0;
    const limiter = new SourceLimiter({ perSecond: 1, burst: 1, maxSources: 1_000 }, () => now);
    limiter.take('keep');
    for (let i = 0; i < 100_000; i++) {
      if (i % 500 === 0) limiter.take('keep');
      limiter.take(`flood-${i}`);
      now += 0.001;
    }
    expect(limiter.size).toBe(1_000);
    expect(limiter.has('flood-0')).toBe(true); // forgotten, so a fresh bucket
    expect(limiter.take('keep')).toBeGreaterThan(0); // still remembered: its bucket is empty
  });
});
