import { request } from 'undici';

export interface LoadResult {
  readonly sent: number;
  readonly failed: number;
  readonly statuses: ReadonlyMap<number | string, number>;
  readonly byUpstream: ReadonlyMap<string, number>;
}

/**
 * A steady, bounded stream of GETs through a proxy (`concurrency` loops, one request at a
 * time each) until `stop()` is called. Anything but a 200 counts as failed.
 */
export function startLoad(url: string, options: { concurrency?: number; maxRequests?: number } = {}) {
  let running = true;
  let sent = 0;
  let failed = 0;
  const statuses = new Map<number | string, number>();
  const byUpstream = new Map<string, number>();
  const count = <K>(map: Map<K, number>, key: K): void => void map.set(key, (map.get(key) ?? 0) + 1);
  const maxRequests = options.maxRequests ?? 100_000;
  const loop = async (): Promise<void> => {
    while (running && sent < maxRequests) {
      sent++;
      try {
        const response = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
        const upstream = response.headers['x-upstream'];
        await response.body.dump();
        count(statuses, response.statusCode);
        if (response.statusCode !== 200) failed++;
        else if (typeof upstream === 'string') count(byUpstream, upstream);
      } catch (error) {
        failed++;
        count(statuses, (error as { code?: string }).code ?? 'error');
      }
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
