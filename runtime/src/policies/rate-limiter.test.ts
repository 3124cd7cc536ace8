import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.ts';

describe('RateLimiter', () => {
  it('refills at the configured rate, up to the burst', () => {
    const limiter = new RateLimiter({ requests: 10, per: 'second', by: 'ip', burst: 2 }, 100);
    expect([0, 0, 0].map((t) => limiter.take('a', t).allowed)).toEqual([true, true, false]);
    expect(limiter.take('a', 0).retryAfterSeconds).toBe(1);
    expect(limiter.take('a', 99).allowed).toBe(false); // 0.99 of a token
    expect(limiter.take('a', 100).allowed).toBe(true); // one token per 100 ms
    expect(limiter.take('a', 10_000)).toMatchObject({ allowed: true, remaining: 1, limit: 2 });
  });

  it('keeps at most maxKeys buckets under 1,000,000 distinct keys, forgetting the least recently used', () => {
    const maxKeys = 100_000;
    const limiter = new RateLimiter({ requests: 1, per: 'hour', by: 'header:x-client', burst: 1 }, maxKeys);
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) {
      limiter.take(`client-${i}`, 0);
      if (i % 1000 === 0) limiter.take('steady', 0); // used all along: never the least recent
    }
    expect(limiter.size).toBeLessThanOrEqual(maxKeys);
    expect(limiter.size).toBeGreaterThan(maxKeys / 2);
    gc();
    // What at most 100,000 buckets cost; a bucket for each of the 1,000,000 keys would be ten times more.
    const grown = process.memoryUsage().heapUsed - heapBefore;
    expect(grown).toBeLessThan(32 * 1024 * 1024);
    expect(limiter.take('steady', 0).allowed).toBe(false); // still remembered: spent
    expect(limiter.take('client-0', 0).allowed).toBe(true); // forgotten: starts again full
    expect(limiter.take('client-999999', 0).allowed).toBe(false); // recent: spent
  });

  it('keeps long keys as digests, so a bucket costs the same whatever a client sends', () => {
    const limiter = new RateLimiter({ requests: 1, per: 'minute', by: 'header:x-client', burst: 1 }, 10);
    const long = 'x'.repeat(10_000);
    expect(limiter.take(long, 0).allowed).toBe(true);
    expect(limiter.take(long, 0).allowed).toBe(false);
    expect(limiter.take(`${long}y`, 0).allowed).toBe(true);
  });
});
