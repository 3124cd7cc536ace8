import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Runtime } from './runtime.ts';
import { api, cluster, response, type ApiInit, type MemberInit } from './testing/resources.ts';
import { echoHealthPath, metricValue, RuntimeHarness, type Answer, type EchoUpstream } from './testing/runtime-harness.ts';
import { closedPort } from './testing/servers.ts';

let h: RuntimeHarness;

beforeEach(() => {
  h = new RuntimeHarness();
});

afterEach(async () => {
  await h.close();
});

const fastCheck = { path: echoHealthPath, intervalMs: 200, timeoutMs: 150, healthyThreshold: 1, unhealthyThreshold: 2 };

function serve(rt: Runtime, members: readonly MemberInit[], init: ApiInit = {}): void {
  expect(rt.applyResponse(response('cluster', 1, { 'acme/pool/main': cluster('acme/pool/main', members) }))).toMatchObject({ ok: true });
  expect(rt.applyResponse(response('api', 1, { 'acme/orders': api('acme/orders', { basePath: '/', ...init }) }))).toMatchObject({ ok: true });
}

/** Sends `total` GETs, `concurrency` at a time, and returns every answer. */
async function load(rt: Runtime, total: number, concurrency: number, onProgress?: (done: number) => Promise<void> | void): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      answers.push(await h.call(rt, '/orders'));
      await onProgress?.(answers.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

function servedBy(answer: Answer): string {
  return answer.status === 200 ? (JSON.parse(answer.text) as { name: string }).name : `status ${answer.status}`;
}

describe('gateway pool health', () => {
  it('loses no request when a member dies, answers 503 at once when all are dead, and takes a restarted member back', async () => {
    const ups = [await h.echo('gw-1'), await h.echo('gw-2'), await h.echo('gw-3')];
    const rt = await h.runtime();
    serve(rt, ups.map((u) => ({ name: u.name, url: u.url, zone: 'eu-1', healthCheck: fastCheck })), { retries: { attempts: 2 } });

    // gw-1 dies (listener closed, connections destroyed) in the middle of the traffic.
    const answers = await load(rt, 600, 4, async (done) => {
      if (done === 150) await ups[0]?.close();
    });
    const failures = answers.filter((a) => a.status !== 200);
    expect(failures.map((a) => a.text)).toEqual([]);
    expect(answers.slice(-100).map(servedBy)).not.toContain('gw-1');
    expect(await metricValue(rt, 'memberStateChanges', { cluster: 'acme/pool/main', to: 'unhealthy' })).toBe(1);
    expect(await metricValue(rt, 'clusterHealthyMembers', { cluster: 'acme/pool/main' })).toBe(2);

    // All of them die: once the runtime knows, every request is answered at once.
    await Promise.all(ups.map((u) => u.close()));
    await vi.waitFor(async () => expect(await metricValue(rt, 'clusterHealthyMembers', { cluster: 'acme/pool/main' })).toBe(0), { timeout: 5_000, interval: 20 });
    for (let i = 0; i < 20; i++) {
      const answer = await h.call(rt, '/orders');
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({
        error: {
          code: 'no_healthy_upstream',
          message: 'no healthy member of pool/main can serve api acme/orders',
          api: 'acme/orders',
          pool: 'pool/main',
          healthy: 0,
          total: 3,
        },
      });
      // No connect (5 s) or request timeout is waited out; the bound leaves room for a busy machine.
      expect(answer.ms).toBeLessThan(1_000);
    }

    // gw-2 comes back on its port: its active check brings traffic back, no config change.
    const back = await h.echo('gw-2', ups[1]?.port);
    await vi.waitFor(async () => expect(await metricValue(rt, 'clusterHealthyMembers', { cluster: 'acme/pool/main' })).toBe(1), { timeout: 5_000, interval: 20 });
    const after = await load(rt, 20, 2);
    expect(after.map(servedBy)).toEqual(Array.from({ length: 20 }, () => 'gw-2'));
    expect(back.hits).toBe(20);
    expect(back.checks).toBeGreaterThan(0);
  });

  it('retries a POST after a refused connection but never after the upstream answered 503', async () => {
    const dead = await closedPort();
    const alive = await h.echo('alive');
    const rt = await h.runtime({}, { random: () => 0 }); // picks the first usable member
    serve(rt, [{ name: 'dead', url: `http://127.0.0.1:${dead}`, zone: 'eu-1' }, { name: 'alive', url: alive.url, zone: 'eu-1' }], { retries: { attempts: 2 } });
    const retried = await h.call(rt, '/orders', { method: 'POST', body: 'pay' });
    expect(servedBy(retried)).toBe('alive');
    expect(alive.hits).toBe(1);
    expect(await metricValue(rt, 'retries', { reason: 'connect_failure' })).toBe(1);

    const busy = await h.echo('busy', undefined, 503);
    const other = await h.echo('other');
    const second = await h.runtime({}, { random: () => 0 });
    serve(second, [{ name: 'busy', url: busy.url, zone: 'eu-1' }, { name: 'other', url: other.url, zone: 'eu-1' }], { retries: { attempts: 2 } });
    const post = await h.call(second, '/orders', { method: 'POST', body: 'pay' });
    expect(post.status).toBe(503);
    expect(JSON.parse(post.text).name).toBe('busy');
    expect([busy.hits, other.hits]).toEqual([1, 0]);
    const get = await h.call(second, '/orders');
    expect(servedBy(get)).toBe('other'); // a GET without a body is retried
    expect([busy.hits, other.hits]).toEqual([2, 1]);
  });

  it('answers 503 no_healthy_upstream when no member can be connected to, 502 when attempts ran out first', async () => {
    const rt = await h.runtime();
    const ports = [await closedPort(), await closedPort()];
    serve(rt, ports.map((p, i) => ({ name: `dead-${i}`, url: `http://127.0.0.1:${p}`, zone: 'eu-1' })), { retries: { attempts: 2 } });
    const answer = await h.call(rt, '/x');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text).error).toMatchObject({ code: 'no_healthy_upstream', healthy: 0, total: 2 });

    const other = await h.runtime();
    serve(other, ports.map((p, i) => ({ name: `dead-${i}`, url: `http://127.0.0.1:${p}`, zone: 'eu-1' })), { retries: { attempts: 0 } });
    const first = await h.call(other, '/x');
    expect(first.status).toBe(502); // one member left untried: the runtime does not know it is dead
    expect(JSON.parse(first.text).error).toMatchObject({ code: 'upstream_unavailable', api: 'acme/orders' });
    const second = await h.call(other, '/x');
    expect(JSON.parse(second.text).error).toMatchObject({ code: 'no_healthy_upstream', healthy: 0, total: 2 });
  });

  it('returns the last answer when the retry budget is used up', async () => {
    const busy = await h.echo('busy', undefined, 503);
    const held: (() => void)[] = [];
    let heldChanged: () => void = () => undefined;
    const slow = await h.upstream((_req, res) => {
      held.push(() => res.end(JSON.stringify({ name: 'slow' })));
      heldChanged();
    });
    const rt = await h.runtime({}, { random: () => 0 }); // busy first, while it is usable
    serve(rt, [{ name: 'busy', url: busy.url, zone: 'eu-1' }, { name: 'slow', url: slow.url, zone: 'eu-1' }], { retries: { attempts: 2 } });
    const threeHeld = new Promise<void>((resolve) => (heldChanged = () => held.length === 3 && resolve()));
    const pending = Array.from({ length: 5 }, () => h.call(rt, '/orders'));
    await threeHeld; // three retries in flight: the budget's minimum
    await vi.waitFor(async () => expect(await metricValue(rt, 'retryBudgetExhausted', { api: 'acme/orders' })).toBe(2));
    for (const release of held) release();
    const answers = await Promise.all(pending);
    expect(answers.map(servedBy).sort()).toEqual(['slow', 'slow', 'slow', 'status 503', 'status 503']);
    expect(busy.hits).toBe(5);
    expect(await metricValue(rt, 'retries', { api: 'acme/orders', reason: 'status_503' })).toBe(3);
  });

  it('retries every request a dying member had in flight, more than the retry budget would allow', async () => {
    let doomedHeld = 0;
    const doomed = await h.upstream(() => void doomedHeld++); // answers nothing, then dies
    const held: (() => void)[] = [];
    const alive = await h.upstream((_req, res) => void held.push(() => res.end(JSON.stringify({ name: 'alive' }))));
    const rt = await h.runtime({}, { random: () => 0 }); // doomed first, while it is usable
    serve(rt, [{ name: 'doomed', url: doomed.url, zone: 'eu-1' }, { name: 'alive', url: alive.url, zone: 'eu-1' }], { retries: { attempts: 2 } });
    const pending = Array.from({ length: 6 }, () => h.call(rt, '/orders'));
    await vi.waitFor(() => expect(doomedHeld).toBe(6), { timeout: 5_000, interval: 10 });

    await doomed.close(); // each of the 6 connections is reset under its request
    // Twice the budget's minimum of retries in flight at once: none is refused.
    await vi.waitFor(() => expect(held.length).toBe(6), { timeout: 2_000, interval: 10 });
    for (const release of held) release();
    const answers = await Promise.all(pending);
    expect(answers.map(servedBy)).toEqual(Array.from({ length: 6 }, () => 'alive'));
    expect(await metricValue(rt, 'retries', { api: 'acme/orders', reason: 'reset' })).toBe(6);
    expect(await metricValue(rt, 'retryBudgetExhausted', { api: 'acme/orders' })).toBe(0);
  });

  it('spreads requests at random over the members', async () => {
    const ups: EchoUpstream[] = [await h.echo('a'), await h.echo('b'), await h.echo('c')];
    const rt = await h.runtime();
    serve(rt, ups.map((u) => ({ name: u.name, url: u.url, zone: 'eu-1' })));
    const answers = await load(rt, 3_000, 8);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const up of ups) {
      expect(up.hits / 3_000).toBeGreaterThanOrEqual(0.25);
      expect(up.hits / 3_000).toBeLessThanOrEqual(0.42);
    }
  });

  it('shows each member state and reason in /config and serves the reserved health path', async () => {
    const rt = await h.runtime();
    const before = await h.call(rt, '/.well-known/causeway/health');
    expect([before.status, JSON.parse(before.text)]).toEqual([503, { status: 'not_ready', zone: 'eu-1' }]);
    const up = await h.echo('up');
    const dead = await closedPort();
    serve(rt, [
      { name: 'up', url: up.url, zone: 'eu-1', healthCheck: fastCheck },
      { name: 'dead', url: `http://127.0.0.1:${dead}`, zone: 'eu-1', healthCheck: fastCheck },
    ], { hosts: ['shop.example.com'] });
    const ready = await h.call(rt, '/.well-known/causeway/health?probe=1', { headers: { host: 'shop.example.com' } });
    expect([ready.status, JSON.parse(ready.text)]).toEqual([200, { status: 'ready', zone: 'eu-1' }]);
    expect(up.hits).toBe(0);

    const dump = async () => {
      const res = await h.agent.request({ origin: `http://127.0.0.1:${rt.adminAddress.port}`, path: '/config', method: 'GET' });
      return (await res.body.json()) as { clusters: { members: Record<string, unknown>[] }[] };
    };
    await vi.waitFor(async () => {
      const members = (await dump()).clusters[0]?.members ?? [];
      expect(members.find((m) => m.name === 'dead')).toMatchObject({
        state: { kind: 'unhealthy', reason: 'health check failed: connect ECONNREFUSED' },
        usable: false,
        reason: 'health check failed: connect ECONNREFUSED',
        activeCheck: { verdict: 'fail' },
      });
    }, { timeout: 5_000, interval: 50 });
    const members = (await dump()).clusters[0]?.members ?? [];
    expect(members.find((m) => m.name === 'up')).toMatchObject({ state: { kind: 'healthy' }, usable: true, reason: 'ok', activeCheck: { verdict: 'pass' } });
  });
});
