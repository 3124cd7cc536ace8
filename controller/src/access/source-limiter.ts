/** One source's bucket: tokens left and when they were counted. */
interface Bucket {
  tokens: number;
  at: number;
}

export interface SourceLimit {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Most tokens a source can save up. */
  readonly burst: number;
  /** Sources remembered at once; the longest unseen is forgotten first. */
  readonly maxSources: number;
}

/**
 * A token bucket per source address, in bounded memory: a flood from many addresses
 * forgets the oldest ones rather than growing. Used to slow failed authentications and to
 * keep their audit events from filling the table.
 */
export class SourceLimiter {
  private readonly limit: SourceLimit;
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(limit: SourceLimit, now: () => number = () => performance.now()) {
    this.limit = limit;
    this.now = now;
  }

  /** Takes a token for the source: 0 when it had one, else the seconds until it will. */
  take(source: string): number {
    const now = this.now();
    const bucket = this.refreshed(source, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
  }

  /** Whether the source has a token left, without taking one. */
  has(source: string): boolean {
    return this.refreshed(source, this.now()).tokens >= 1;
  }

  get size(): number {
    return this.buckets.size;
  }

  private refreshed(source: string, now: number): Bucket {
    let bucket = this.buckets.get(source);
    if (bucket === undefined) {
      bucket = { tokens: this.limit.burst, at: now };
      if (this.buckets.size >= this.limit.maxSources) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    } else {
      bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
      bucket.at = now;
      this.buckets.delete(source);
    }
    // Re-inserted: the map's order is the order sources were last seen.
    this.buckets.set(source, bucket);
    return bucket;
  }
}
