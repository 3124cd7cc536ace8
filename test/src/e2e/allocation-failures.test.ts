import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, allocationEnv, answerHandshakes, handshakesSeen, poolCounts, poolOf, stepLog, TENANT_DOMAIN, tenantRequest } from '../harness/allocations.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call, type HttpResult } from '../harness/http.ts';
import { Stack, type ControllerProcess, type RuntimeProcess, type UpstreamProcess } from '../harness/processes.ts';

/**
 * A dedicated allocation that fails at any step leaves nothing behind (ARCHITECTURE.md §6
 * guarantee 5): no gateway held, no route served, the pool's free count as before; the
 * caller gets the error of the step that failed, with the allocation and its step log.
 */
describe('allocation failures', () => {
  let db: TestDatabase;
  let stack: Stack;
  let c1: ControllerProcess;
  let c2: ControllerProcess;
  let runtime: RuntimeProcess;
  let upstream: UpstreamProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    const env = allocationEnv(1_000, { CAUSEWAY_GATEWAY_HEARTBEAT_TTL_MS: '1000' });
    [c1, c2] = await Promise.all([stack.controller({ databaseUrl: db.url, id: 'c1', env }), stack.controller({ databaseUrl: db.url, id: 'c2', env })]);
    upstream = await stack.upstream('up-1');
    await poolOf(c1.adminUrl, 'shop', [upstream]);
    runtime = await stack.runtime({ controllers: [c1.xdsAddress, c2.xdsAddress], nodeId: 'steady' });
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  /** The failed allocation as the caller got it, the same as a later GET of it, rolled back. */
  async function rolledBack(response: HttpResult, status: number, code: string): Promise<{ id: string; steps: string[]; message: string }> {
    expect(response.status, response.text).toBe(status);
    expect(response.body.error.code).toBe(code);
    const { allocation } = response.body;
    expect(allocation.id).toMatch(/^alc_[0-9a-f]{16}$/);
    expect(response.headers.get('location')).toBe(`/v1/allocations/${allocation.id}`);
    expect(allocation).toMatchObject({ state: 'rolled-back', error: { code } });
    const read = await call(c2.adminUrl, 'GET', `/v1/allocations/${allocation.id}`);
    expect(read.body).toEqual(allocation);
    for (const step of allocation.steps) expect(step).toMatchObject({ controller: expect.any(String), startedAt: expect.any(String), finishedAt: expect.any(String) });
    // Every transition is audited: each step starting and ending, and the rollback's two states.
    const audit = await call(c1.adminUrl, 'GET', `/v1/audit-events?resource=allocation/${String(allocation.id)}&limit=1000`);
    const actions: string[] = audit.body.items.map((e: { action: string }) => e.action).reverse();
    expect(actions.filter((a) => a !== 'allocation.step')).toEqual(['allocation.create', 'allocation.rollback', 'allocation.rollback']);
    expect(actions.filter((a) => a === 'allocation.step')).toHaveLength(2 * allocation.steps.length);
    return { id: allocation.id, steps: stepLog(allocation), message: response.body.error.message };
  }

  /** Nothing of the allocation is left: its gateway is free, its API gone, its host unserved. */
  async function nothingLeft(id: string, tenant: string): Promise<void> {
    expect(await poolCounts(c1.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 });
    expect((await call(c1.adminUrl, 'GET', `/v1/apis/${id.replace('_', '-')}`)).status).toBe(404);
    await eventually(async () => expect((await tenantRequest(runtime, tenant)).status).toBe(404), { message: () => stack.tails() });
    // The tenant may ask again: nothing holds its place.
    const live = await call(c1.adminUrl, 'GET', `/v1/allocations?tenant=${tenant}&state=ready`);
    expect(live.body.items).toEqual([]);
  }

  /** Waits until the runtimes a test started and killed no longer count for convergence. */
  async function onlySteadyConnected(): Promise<void> {
    await eventually(async () => {
      const runtimes = await call(c1.adminUrl, 'GET', '/v1/runtimes');
      expect(runtimes.body.items.filter((r: { connected: boolean }) => r.connected).map((r: { nodeId: string }) => r.nodeId)).toEqual(['steady']);
    }, { message: () => stack.tails() });
  }

  it('answers 503 no_gateway_available with the counts when no member is free', async () => {
    const holder = await allocate(c1.adminUrl, 'shop', 'holder');
    expect(holder.status, holder.text).toBe(201);
    expect(holder.body).toMatchObject({ state: 'ready', tenant: 'holder', pool: 'shop', gateway: 'gw-up-1', host: `holder.${TENANT_DOMAIN}` });
    // A second member that sent one heartbeat and then fell silent: unhealthy.
    await call(c1.adminUrl, 'PUT', '/v1/gateways/gw-silent', { spec: { url: 'http://127.0.0.1:9' } });
    await call(c1.adminUrl, 'POST', '/v1/gateways/gw-silent/heartbeat');
    await call(c1.adminUrl, 'POST', '/v1/gateway-pools/shop/memberships', { gateway: 'gw-silent' });
    await eventually(async () => expect((await call(c1.adminUrl, 'GET', '/v1/gateways/gw-silent')).body.status.health).toBe('unhealthy'));

    const failed = await rolledBack(await allocate(c2.adminUrl, 'shop', 'late'), 503, 'no_gateway_available');
    expect(failed.message).toBe('no free healthy gateway in pool "shop"; 1 allocated, 1 unhealthy');
    expect(failed.steps).toEqual(['do reserve:failed']);

    await call(c1.adminUrl, 'DELETE', '/v1/gateway-pools/shop/memberships/gw-silent');
    const released = await call(c2.adminUrl, 'DELETE', `/v1/allocations/${String(holder.body.id)}`);
    expect(released.body.state).toBe('released');
    await nothingLeft(failed.id, 'late');
  });

  it('answers 409 when the tenant host is already served, and removes nothing of the API that serves it', async () => {
    await call(c1.adminUrl, 'PUT', '/v1/gateways/gw-other', { spec: { url: upstream.url } });
    const squatter = await call(c1.adminUrl, 'PUT', '/v1/apis/squatter', { spec: { basePath: '/', hosts: [`beta.${TENANT_DOMAIN}`], upstream: { gateway: 'gw-other' } } });
    expect(squatter.status, squatter.text).toBe(201);

    const failed = await rolledBack(await allocate(c1.adminUrl, 'shop', 'beta'), 409, 'conflict');
    expect(failed.message).toContain(`host "beta.${TENANT_DOMAIN}" is already served`);
    expect(failed.steps).toEqual(['do reserve:done', 'do route:failed', 'undo route:done', 'undo reserve:done']);
    expect(await poolCounts(c1.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 });
    expect((await call(c1.adminUrl, 'GET', '/v1/apis/squatter')).status).toBe(200);
    await eventually(async () => expect((await tenantRequest(runtime, 'beta')).upstream).toBe('up-1'));
    await call(c1.adminUrl, 'DELETE', '/v1/apis/squatter');
    await nothingLeft(failed.id, 'beta');
  });

  it('rolls back when a runtime rejects the route', async () => {
    // The tenant route asks for the default 15 s request time-out; this runtime allows 1 s.
    const strict = await stack.runtime({ controllers: [c1.xdsAddress], nodeId: 'strict', env: { CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '1000' } });
    await eventually(async () => expect((await call(c1.adminUrl, 'GET', '/v1/runtimes')).body.items.filter((r: { connected: boolean }) => r.connected)).toHaveLength(2));

    const failed = await rolledBack(await allocate(c2.adminUrl, 'shop', 'gamma'), 503, 'unavailable');
    expect(failed.message).toMatch(/^runtime "strict" rejected the route of tenant "gamma": .*CAUSEWAY_MAX_REQUEST_TIMEOUT_MS/);
    expect(failed.steps).toEqual(['do reserve:done', 'do route:done', 'do converge:failed', 'undo route:done', 'undo reserve:done']);
    await strict.kill();
    await onlySteadyConnected();
    await nothingLeft(failed.id, 'gamma');
  });

  it('rolls back when a runtime does not answer within the converge time-out', async () => {
    const frozen = await stack.runtime({ controllers: [c2.xdsAddress], nodeId: 'frozen' });
    await eventually(async () => expect((await call(c1.adminUrl, 'GET', '/v1/runtimes')).body.items.filter((r: { connected: boolean }) => r.connected)).toHaveLength(2));
    // Connected, but it reads nothing any more.
    frozen.child.kill('SIGSTOP');
    try {
      const failed = await rolledBack(await allocate(c1.adminUrl, 'shop', 'delta'), 503, 'unavailable');
      expect(failed.message).toBe('1 of 2 runtime(s) did not apply the route of tenant "delta" within 3000 ms: "frozen"');
      expect(failed.steps).toEqual(['do reserve:done', 'do route:done', 'do converge:failed', 'undo route:done', 'undo reserve:done']);
      await nothingLeft(failed.id, 'delta');
    } finally {
      await frozen.kill();
    }
    await onlySteadyConnected();
  });

  it('answers 502 when the gateway refuses the handshake, and takes the handshake back', async () => {
    await answerHandshakes(upstream, { post: 'fail' });
    const failed = await rolledBack(await allocate(c1.adminUrl, 'shop', 'epsilon'), 502, 'upstream_unavailable');
    expect(failed.message).toBe('gateway "gw-up-1" answered the handshake (POST) with 500');
    expect(failed.steps).toEqual(['do reserve:done', 'do route:done', 'do converge:done', 'do handshake:failed', 'undo handshake:done', 'undo route:done', 'undo reserve:done']);
    const seen = (await handshakesSeen(upstream)).filter((h) => h.body?.allocation === failed.id);
    expect(seen.map((h) => `${h.method} ${h.answer}`)).toEqual(['POST fail', 'DELETE ok']);
    expect(seen[0]?.body).toEqual({ tenant: 'epsilon', allocation: failed.id, host: `epsilon.${TENANT_DOMAIN}` });
    await nothingLeft(failed.id, 'epsilon');
  });

  it('answers 504 when the gateway does not answer the handshake in time', async () => {
    await answerHandshakes(upstream, { post: 'hang' });
    try {
      const started = performance.now();
      const failed = await rolledBack(await allocate(c2.adminUrl, 'shop', 'zeta'), 504, 'upstream_timeout');
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(failed.message).toBe('gateway "gw-up-1" did not answer the handshake (POST) within 1000 ms');
      expect(failed.steps.slice(-4)).toEqual(['do handshake:failed', 'undo handshake:done', 'undo route:done', 'undo reserve:done']);
      await nothingLeft(failed.id, 'zeta');
    } finally {
      await answerHandshakes(upstream, { post: 'ok' });
    }
  });
});
