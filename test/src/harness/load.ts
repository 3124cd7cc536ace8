import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

export interface LoadResult {
  readonly sent: number;
  readonly failed: number;
  readonly statuses: ReadonlyMap<number | string, number>;
  readonly byUpstream: ReadonlyMap<string, number>;
}

/** One request of a load, as the client saw it. */
export interface LoadSample {
  /** When it was sent, in ms since the epoch (sub-ms precision), comparable with log timestamps. */
  readonly sentAt: number;
  /** Until the response body ended (or the request failed). */
  readonly ms: number;
  /** The status code, or the error code of a transport failure. */
  readonly outcome: number | string;
  /** The `x-upstream` header of the response, if any. */
  readonly upstream: string | undefined;
  /** `error.code` of a JSON error answer (not 200), if any. */
  readonly errorCode: string | undefined;
}

export interface LoadOptions {
  /** Loops sending one request at a time each (default 4). */
  readonly concurrency?: number;
  readonly maxRequests?: number;
  /** Paces the loops together to this many requests per second (default: as fast as they go). */
  readonly ratePerSecond?: number;
  /** Called with every request once it ended. */
  readonly onSample?: (sample: LoadSample) => void;
}

/** Now, in ms since the epoch, with performance.now()'s precision. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

async function readErrorCode(body: { text(): Promise<string> }): Promise<string | undefined> {
  try {
    const code = (JSON.parse(await body.text()) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A steady, bounded stream of GETs through a proxy (`concurrency` loops, one request at a
 * time each, optionally paced to a rate) until `stop()` is called. Anything but a 200
 * counts as failed.
 */
export function startLoad(url: string, options: LoadOptions = {}) {
  let running = true;
  /** Requests given a slot (paced loops may still be waiting for theirs). */
  let scheduled = 0;
  let sent = 0;
  let failed = 0;
  const statuses = new Map<number | string, number>();
  const byUpstream = new Map<string, number>();
  const count = <K>(map: Map<K, number>, key: K): void => void map.set(key, (map.get(key) ?? 0) + 1);
  const maxRequests = options.maxRequests ?? 100_000;
  const { ratePerSecond, onSample } = options;
  const startedAt = performance.now();
  const loop = async (): Promise<void> => {
    while (running && scheduled < maxRequests) {
      const index = scheduled++;
      if (ratePerSecond !== undefined) {
        const wait = startedAt + (index * 1000) / ratePerSecond - performance.now();
        if (wait > 0) await sleep(wait);
        if (!running) return;
      }
      sent++;
      const sentAt = epochNow();
      let outcome: number | string;
      let upstream: string | undefined;
      let errorCode: string | undefined;
      try {
        const response = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
        const header = response.headers['x-upstream'];
        if (response.statusCode === 200) await response.body.dump();
        else errorCode = await readErrorCode(response.body);
        outcome = response.statusCode;
        if (typeof header === 'string') upstream = header;
        if (response.statusCode !== 200) failed++;
        else if (upstream !== undefined) count(byUpstream, upstream);
      } catch (error) {
        failed++;
        outcome = (error as { code?: string }).code ?? 'error';
      }
      count(statuses, outcome);
      onSample?.({ sentAt, ms: epochNow() - sentAt, outcome, upstream, errorCode });
    }
  };
  const loops = Array.from({ length: options.concurrency ?? 4 }, loop);
  return {
    get sent() {
      return sent;
    },
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      return { sent, failed, statuses, byUpstream };
    },
  };
}
