import { createHash } from 'node:crypto';
import { ratePeriodSeconds, type RateLimitPolicy } from '@causeway/shared';
import { BoundedMap } from './bounded-map.ts';

/** One key's bucket: tokens left as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/** What one request took from its bucket, for the RateLimit headers and Retry-After. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** Seconds until the next token (0 when allowed). */
  readonly retryAfterSeconds: number;
}

/** Keys longer than this are kept as their SHA-256, so a bucket costs the same whatever a client sends. */
const MAX_KEY_LENGTH = 64;

/**
 * Token buckets of one rate limit, local to this runtime: each key holds `burst` tokens,
 * refilled at `requests` per period; a request takes one. At most `maxKeys` buckets are
 * kept, the least recently used dropped first (a dropped key starts again full), so memory
 * stays bounded whatever the number of distinct clients.
 */
export class RateLimiter {
  private readonly buckets: BoundedMap<Bucket>;
  readonly capacity: number;
  private readonly tokensPerMs: number;
  readonly settings: RateLimitPolicy;

  constructor(settings: RateLimitPolicy, maxKeys: number) {
    this.settings = settings;
    this.buckets = new BoundedMap(maxKeys);
    this.capacity = settings.burst;
    this.tokensPerMs = settings.requests / (ratePeriodSeconds[settings.per] * 1000);
  }

  get size(): number {
    return this.buckets.size;
  }

  private bucket(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.capacity, at: now };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  take(rawKey: string, now: number): RateDecision {
    const key = rawKey.length > MAX_KEY_LENGTH ? createHash('sha256').update(rawKey).digest('base64') : rawKey;
    const bucket = this.bucket(key, now);
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.tokensPerMs);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const remaining = Math.floor(bucket.tokens);
    return {
      allowed,
      limit: this.capacity,
      remaining,
      resetSeconds: Math.ceil((this.capacity - bucket.tokens) / this.tokensPerMs / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / this.tokensPerMs / 1000)),
    };
  }
}

/** Whether a rebuilt API can keep the buckets of its previous rate limit (the same settings). */
export function sameRateLimit(a: RateLimitPolicy, b: RateLimitPolicy): boolean {
  return a.requests === b.requests && a.per === b.per && a.by === b.by && a.burst === b.burst;
}
