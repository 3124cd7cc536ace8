import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { startLoad } from '../harness/load.ts';
import { Stack, type ControllerProcess, type RuntimeProcess, type UpstreamProcess } from '../harness/processes.ts';

/** ARCHITECTURE.md §6 guarantee 4, pools, zones and failover, with every part a process. */
describe('pools, health and failover', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;

  beforeEach(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url, env: { CAUSEWAY_GATEWAY_HEARTBEAT_TTL_MS: '2000' } });
  });

  afterEach(async () => {
    await stack.close();
    await db.drop();
  });

  const fastChecks = { path: '/', intervalMs: 500, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 1 };

  async function gateways(upstreams: readonly UpstreamProcess[], zones: readonly string[] = []): Promise<string[]> {
    return Promise.all(
      upstreams.map(async (u, i) => {
        const name = `gw-${i + 1}`;
        await call(controller.adminUrl, 'PUT', `/v1/gateways/${name}`, { spec: { url: u.url, zone: zones[i] ?? 'default', healthCheck: fastChecks } });
        return name;
      }),
    );
  }

  async function hits(upstream: UpstreamProcess): Promise<Record<string, number>> {
    return (await call(upstream.url, 'GET', '/.sample/stats', undefined, { token: null })).body.requests;
  }

  async function served(runtime: RuntimeProcess, path: string, expected: string): Promise<void> {
    await eventually(async () => expect((await call(runtime.proxyUrl, 'GET', path, undefined, { token: null })).body?.upstream).toBe(expected), { message: () => stack.tails() });
  }

  it('loses no request when a pool member is killed, answers 503 at once when all are, and takes a revived one back', async () => {
    const upstreams = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2'), stack.upstream('upstream-3')]);
    await call(controller.adminUrl, 'PUT', '/v1/gateway-pools/pool', { spec: { members: await gateways(upstreams) } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' } } });
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    await eventually(async () => expect((await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null })).status).toBe(200));

    const load = startLoad(`${runtime.proxyUrl}/orders/`, { concurrency: 4 });
    await eventually(() => expect(load.sent).toBeGreaterThan(100));
    await upstreams[0]?.kill();
    const afterKill = load.sent;
    await eventually(() => expect(load.sent).toBeGreaterThan(afterKill + 400));
    const result = await load.stop();
    expect(result.failed, `${JSON.stringify([...result.statuses])}\n${stack.tails()}`).toBe(0);

    // The pool shows the dead member within 10 s.
    const pool = await eventually(async () => {
      const response = await call(controller.adminUrl, 'GET', '/v1/gateway-pools/pool');
      expect(response.body.status).toMatchObject({ status: 'degraded', healthyMemberCount: 2, memberCount: 3 });
      return response.body.status;
    }, { timeoutMs: 10_000, message: () => stack.tails() });
    expect(pool.members.find((m: { gateway: string }) => m.gateway === 'gw-1').health).toBe('unhealthy');

    await Promise.all(upstreams.slice(1).map((u) => u.kill()));
    // Once the runtime knows, every request is answered at once with the 503 JSON.
    await eventually(async () => expect((await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null })).status).toBe(503), { timeoutMs: 5_000 });
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const response = await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null });
      // No connect (2 s) or request (15 s) timeout is waited out.
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(response.status).toBe(503);
      expect(response.body.error).toMatchObject({ code: 'no_healthy_upstream', api: 'default/orders', pool: 'pool/pool', healthy: 0, total: 3 });
    }

    // One comes back on its port: traffic returns with no control-plane action.
    const revived = await stack.upstream('upstream-2', upstreams[1]?.port);
    await served(runtime, '/orders/', 'upstream-2');
    expect((await hits(revived)).GET).toBeGreaterThan(0);
  });

  it('retries a POST only when it reached no upstream', async () => {
    const live = await stack.upstream('live');
    const doomed = await stack.upstream('doomed');
    await call(controller.adminUrl, 'PUT', '/v1/gateway-pools/pool', { spec: { members: await gateways([live, doomed]) } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' } } });
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    await eventually(async () => expect((await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null })).status).toBe(200));
    await doomed.kill();
    // Connection refused: the POST reached no one, so it goes to the other member.
    for (let i = 0; i < 20; i++) {
      const response = await call(runtime.proxyUrl, 'POST', '/orders/', { n: i }, { token: null });
      expect(response.status).toBe(200);
      expect(response.body.upstream).toBe('live');
    }
    // A POST answered 503 by an upstream reached it: it is not sent again.
    const before = (await hits(live)).POST ?? 0;
    const refused = await call(runtime.proxyUrl, 'POST', '/orders/?status=503', { n: 1 }, { token: null });
    expect(refused.status).toBe(503);
    expect(refused.body.upstream).toBe('live');
    expect((await hits(live)).POST).toBe(before + 1);
  });

  it('spreads requests at random over healthy members', async () => {
    const upstreams = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2'), stack.upstream('upstream-3')]);
    await call(controller.adminUrl, 'PUT', '/v1/gateway-pools/pool', { spec: { members: await gateways(upstreams) } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' } } });
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    await eventually(async () => expect((await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null })).status).toBe(200));
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const response = await request(`${runtime.proxyUrl}/orders/`);
      const upstream = String(response.headers['x-upstream']);
      await response.body.dump();
      counts.set(upstream, (counts.get(upstream) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['upstream-1', 'upstream-2', 'upstream-3']);
    for (const n of counts.values()) {
      expect(n / 3000).toBeGreaterThanOrEqual(0.25);
      expect(n / 3000).toBeLessThanOrEqual(0.42);
    }
  });

  it('sends traffic to a member added on replica A from a runtime on replica B, and stops for a removed one', async () => {
    const other = await stack.controller({ databaseUrl: db.url, id: 'replica-b' });
    const [u1, u2] = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2')]);
    const [gw1, gw2] = await gateways([u1, u2]);
    await call(controller.adminUrl, 'POST', '/v1/gateway-pools', { metadata: { name: 'pool' }, spec: { members: [gw1] } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' } } });
    const runtime = await stack.runtime({ controllers: [other.xdsAddress] });
    await served(runtime, '/orders/', 'upstream-1');

    expect((await call(controller.adminUrl, 'POST', '/v1/gateway-pools/pool/memberships', { gateway: gw2 })).status).toBe(201);
    await served(runtime, '/orders/', 'upstream-2');
    await call(controller.adminUrl, 'DELETE', `/v1/gateway-pools/pool/memberships/${gw1}`);
    await eventually(async () => {
      const before = (await hits(u1)).GET ?? 0;
      for (let i = 0; i < 20; i++) expect((await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null })).body.upstream).toBe('upstream-2');
      expect((await hits(u1)).GET ?? 0).toBe(before);
    }, { message: () => stack.tails() });
  });

  it('stops sending to a gateway whose heartbeats stopped, and resumes when they come back', async () => {
    const [u1, u2] = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2')]);
    await call(controller.adminUrl, 'PUT', '/v1/gateway-pools/pool', { spec: { members: await gateways([u1, u2]) } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' } } });
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    await call(controller.adminUrl, 'POST', '/v1/gateways/gw-2/heartbeat');
    await served(runtime, '/orders/', 'upstream-2');
    // The TTL of this controller is 2 s; gw-2 sends no more heartbeats.
    await eventually(async () => {
      for (let i = 0; i < 20; i++) expect((await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null })).body.upstream).toBe('upstream-1');
    }, { timeoutMs: 10_000, message: () => stack.tails() });
    expect((await call(controller.adminUrl, 'GET', '/v1/gateways/gw-2')).body.status.health).toBe('unhealthy');
    await call(controller.adminUrl, 'POST', '/v1/gateways/gw-2/heartbeat');
    await served(runtime, '/orders/', 'upstream-2');
  });

  describe('two zones', () => {
    async function zones(failover: boolean) {
      const [a1, b1] = await Promise.all([stack.upstream('zone-a-1'), stack.upstream('zone-b-1')]);
      const members = await gateways([a1, b1], ['zone-a', 'zone-b']);
      await call(controller.adminUrl, 'PUT', '/v1/gateway-pools/pool', { spec: { members } });
      const runtimeB = await stack.runtime({ controllers: [controller.xdsAddress], zone: 'zone-b', nodeId: 'runtime-b' });
      await call(controller.adminUrl, 'PUT', '/v1/zones/zone-a', { spec: { failoverPriority: 1 } });
      await call(controller.adminUrl, 'PUT', '/v1/zones/zone-b', { spec: { dtcUrl: runtimeB.proxyUrl, failoverPriority: 2 } });
      await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' }, failover: { enabled: failover } } });
      const runtimeA = await stack.runtime({ controllers: [controller.xdsAddress], zone: 'zone-a', nodeId: 'runtime-a' });
      await served(runtimeA, '/orders/', 'zone-a-1');
      return { a1, b1, runtimeA, runtimeB };
    }

    it('keeps traffic in the local zone while it is healthy, and fails over to the other zone when it is not', async () => {
      const { a1, runtimeA } = await zones(true);
      for (let i = 0; i < 20; i++) expect((await call(runtimeA.proxyUrl, 'GET', '/orders/', undefined, { token: null })).body.upstream).toBe('zone-a-1');
      await a1.kill();
      for (let i = 0; i < 20; i++) {
        const response = await call(runtimeA.proxyUrl, 'GET', '/orders/', undefined, { token: null });
        expect(response.status).toBe(200);
        expect(response.body.upstream).toBe('zone-b-1');
      }
    });

    it('answers 503 when the local zone is down and failover is disabled', async () => {
      const { a1, runtimeA } = await zones(false);
      await a1.kill();
      await eventually(async () => {
        const response = await call(runtimeA.proxyUrl, 'GET', '/orders/', undefined, { token: null });
        expect(response.status).toBe(503);
        expect(response.body.error.code).toBe('no_healthy_upstream');
      }, { timeoutMs: 5_000, message: () => stack.tails() });
    });

    it('answers 503 without a forwarding loop when both zones are down', async () => {
      const { a1, b1, runtimeA, runtimeB } = await zones(true);
      await Promise.all([a1.kill(), b1.kill()]);
      await eventually(async () => {
        const response = await call(runtimeA.proxyUrl, 'GET', '/orders/', undefined, { token: null });
        expect(response.status).toBe(503);
        expect(response.body.error.code).toBe('no_healthy_upstream');
      }, { timeoutMs: 5_000, message: () => stack.tails() });
      const started = performance.now();
      const response = await call(runtimeA.proxyUrl, 'GET', '/orders/', undefined, { token: null });
      expect(response.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1_000);
      const metrics = await call(runtimeB.adminUrl, 'GET', '/metrics', undefined, { token: null });
      // Runtime B forwarded nothing anywhere.
      expect(metrics.text).not.toMatch(/causeway_runtime_failovers_total\{[^}]*via="dtc"[^}]*\} [1-9]/);
    });
  });
});
