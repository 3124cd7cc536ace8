import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@causeway/shared';
import { closedPort, startUpstream, type Upstream } from '../testing/servers.ts';
import { HealthChecker, type CheckJob } from './health-checker.ts';

const log = createLogger('test', { level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(handler: Parameters<typeof startUpstream>[0]): Promise<Upstream> {
  const server = await startUpstream(handler);
  cleanups.push(() => server.close());
  return server;
}

function checker(): HealthChecker {
  const instance = new HealthChecker({ log, random: Math.random });
  cleanups.push(() => instance.close());
  return instance;
}

interface Result {
  readonly passed: boolean;
  readonly reason: string;
}

/** A job whose results arrive through `next()`. */
function job(url: string, signature = url, timeoutMs = 200): CheckJob & { next(): Promise<Result>; readonly results: Result[] } {
  const results: Result[] = [];
  let waiter: ((result: Result) => void) | undefined;
  return {
    url,
    intervalMs: 50,
    timeoutMs,
    signature,
    results,
    onResult(passed, reason) {
      results.push({ passed, reason });
      waiter?.({ passed, reason });
      waiter = undefined;
    },
    next: () => new Promise((resolve) => (waiter = resolve)),
  };
}

describe('active health checks', () => {
  it('passes on 2xx and 3xx, fails on other statuses, on a new connection each time', async () => {
    const statuses = [204, 302, 500];
    const ports = new Set<number>();
    const up = await upstream((req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      res.writeHead(statuses.shift() ?? 200, { location: '/elsewhere' });
      res.end();
    });
    const probe = job(`${up.url}/health`);
    checker().sync(new Map([['m', probe]]));
    const results = [await probe.next(), await probe.next(), await probe.next()];
    expect(results).toEqual([
      { passed: true, reason: 'ok' },
      { passed: true, reason: 'ok' },
      { passed: false, reason: 'status 500' },
    ]);
    expect(ports.size).toBe(3);
  });

  it('names refused connections and timeouts', async () => {
    const refused = job(`http://127.0.0.1:${await closedPort()}/health`);
    const silent = await upstream(() => undefined); // never answers
    const slow = job(`${silent.url}/health`, 'slow', 100);
    const instance = checker();
    instance.sync(new Map([['refused', refused], ['slow', slow]]));
    expect(await refused.next()).toEqual({ passed: false, reason: 'connect ECONNREFUSED' });
    const started = performance.now();
    const timedOut = await slow.next();
    expect(timedOut).toEqual({ passed: false, reason: 'timeout after 100 ms' });
    expect(performance.now() - started).toBeLessThan(400); // interval (50 ± 5) + timeout, not undici's coarse timers
  });

  it('stops checks that are gone and restarts those whose signature changed', async () => {
    let hits = 0;
    const up = await upstream((_req, res) => {
      hits++;
      res.end();
    });
    const instance = checker();
    const first = job(`${up.url}/a`, 'one');
    instance.sync(new Map([['m', first]]));
    await first.next();
    const second = job(`${up.url}/b`, 'two');
    instance.sync(new Map([['m', second]]));
    await second.next();
    const before = first.results.length;
    await second.next();
    await second.next();
    expect(first.results.length).toBe(before); // the old loop stopped
    instance.sync(new Map());
    expect(instance.size).toBe(0);
    const stoppedAt = hits;
    const other = job(`${up.url}/c`, 'three');
    instance.sync(new Map([['other', other]]));
    await other.next();
    expect(second.results.length).toBe(3);
    expect(hits).toBe(stoppedAt + 1);
  });
});
