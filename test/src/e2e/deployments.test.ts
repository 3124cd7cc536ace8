import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess, type RuntimeProcess } from '../harness/processes.ts';

describe('deployments: status, wait, rollback', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let strict: RuntimeProcess;
  let lenient: RuntimeProcess;

  beforeEach(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    const [u1, u2] = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2')]);
    await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: u1.url } });
    await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-2', { spec: { url: u2.url } });
    // One runtime refuses request timeouts over 30 s; the other takes anything.
    strict = await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'strict', env: { CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '30000' } });
    lenient = await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'lenient' });
    await eventually(async () => expect((await call(controller.adminUrl, 'GET', '/v1/runtimes')).body.items.filter((r: { connected: boolean }) => r.connected)).toHaveLength(2));
  });

  afterEach(async () => {
    await stack.close();
    await db.drop();
  });

  const upstreamOf = async (runtime: RuntimeProcess) => (await call(runtime.proxyUrl, 'GET', '/orders/', undefined, { token: null })).body?.upstream;

  it('waits until every runtime applied the revision and reports it', async () => {
    const response = await call(controller.adminUrl, 'PUT', '/v1/apis/orders?wait=10s', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    expect(response.status).toBe(201);
    expect(response.body.status.deployment).toMatchObject({ outcome: 'converged', status: { revision: response.body.metadata.revision, summary: { total: 2, acked: 2, nacked: 0, pending: 0 } } });
    // Converged means served: no waiting needed here.
    expect(await upstreamOf(strict)).toBe('upstream-1');
    expect(await upstreamOf(lenient)).toBe('upstream-1');
    const status = await call(controller.adminUrl, 'GET', '/v1/apis/orders/status');
    expect(status.body.runtimes.map((r: { nodeId: string; state: string }) => `${r.nodeId}:${r.state}`)).toEqual(['lenient:acked', 'strict:acked']);
  });

  it('shows which runtime rejected a revision and why', async () => {
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders?wait=10s', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    const response = await call(controller.adminUrl, 'PUT', '/v1/apis/orders?wait=10s', { spec: { basePath: '/orders', upstream: { gateway: 'gw-2' }, timeouts: { requestMs: 60000 } } });
    expect(response.status).toBe(200);
    const deployment = response.body.status.deployment;
    expect(deployment.outcome).toBe('failed');
    expect(deployment.status.summary).toEqual({ total: 2, acked: 1, nacked: 1, pending: 0 });
    const rejected = deployment.status.runtimes.find((r: { nodeId: string }) => r.nodeId === 'strict');
    expect(rejected.state).toBe('nacked');
    expect(rejected.error).toMatch(/CAUSEWAY_MAX_REQUEST_TIMEOUT_MS/);
    // Without rollback the new revision stays: served where accepted, the old one where refused.
    expect(await upstreamOf(lenient)).toBe('upstream-2');
    expect(await upstreamOf(strict)).toBe('upstream-1');
  });

  it('rolls back to the previous revision when a runtime rejects it and rollbackOnFailure is set', async () => {
    const first = await call(controller.adminUrl, 'PUT', '/v1/apis/orders?wait=10s', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    const response = await call(controller.adminUrl, 'PUT', '/v1/apis/orders?wait=10s&rollbackOnFailure=true', { spec: { basePath: '/orders', upstream: { gateway: 'gw-2' }, timeouts: { requestMs: 60000 } } });
    const deployment = response.body.status.deployment;
    expect(deployment.outcome).toBe('rolled-back');
    expect(deployment.restoredRevision).toBe(first.body.metadata.revision);
    expect(deployment.rollbackRevision).toBeGreaterThan(response.body.metadata.revision);
    const current = await call(controller.adminUrl, 'GET', '/v1/apis/orders');
    expect(current.body.metadata.revision).toBe(deployment.rollbackRevision);
    expect(current.body.spec.upstream).toEqual({ gateway: 'gw-1' });
    await eventually(async () => {
      expect(await upstreamOf(lenient)).toBe('upstream-1');
      expect(await upstreamOf(strict)).toBe('upstream-1');
    }, { message: () => stack.tails() });
    const revisions = await call(controller.adminUrl, 'GET', '/v1/apis/orders/revisions');
    expect(revisions.body.items.map((r: { revision: number }) => r.revision)).toEqual([deployment.rollbackRevision, response.body.metadata.revision, first.body.metadata.revision]);
  });

  it('rolls back to a chosen revision on request', async () => {
    const first = await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-2' } } });
    await eventually(async () => expect(await upstreamOf(lenient)).toBe('upstream-2'));
    const rollback = await call(controller.adminUrl, 'POST', '/v1/apis/orders/rollback', { revision: first.body.metadata.revision });
    expect(rollback.status).toBe(200);
    expect(rollback.body.status.restoredRevision).toBe(first.body.metadata.revision);
    await eventually(async () => expect(await upstreamOf(lenient)).toBe('upstream-1'));
    const missing = await call(controller.adminUrl, 'POST', '/v1/apis/orders/rollback', { revision: 999 });
    expect(missing.status).toBe(404);
  });
});
