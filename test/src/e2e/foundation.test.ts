import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess, type RuntimeProcess, type UpstreamProcess } from '../harness/processes.ts';

/** Controller, runtime and upstreams as separate processes, driven through REST like an operator would. */
describe('controller → runtime → upstream', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let upstreamA: UpstreamProcess;
  let upstreamB: UpstreamProcess;

  beforeEach(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    [upstreamA, upstreamB] = await Promise.all([stack.upstream('upstream-a'), stack.upstream('upstream-b')]);
    await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-a', { spec: { url: upstreamA.url } });
    await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-b', { spec: { url: upstreamB.url } });
  });

  afterEach(async () => {
    await stack.close();
    await db.drop();
  });

  async function get(runtime: RuntimeProcess, path: string, headers: Record<string, string> = {}) {
    return call(runtime.proxyUrl, 'GET', path, undefined, { token: null, headers });
  }

  it('follows an API as it is created, updated and deleted', async () => {
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress] });
    expect((await get(runtime, '/orders/1')).status).toBe(404);

    const created = await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-a' } } });
    expect(created.status).toBe(201);
    const first = await eventually(async () => {
      const response = await get(runtime, '/orders/1?x=2', { 'x-request-id': 'req-42' });
      expect(response.status).toBe(200);
      return response.body;
    }, { message: () => stack.tails() });
    expect(first).toMatchObject({ upstream: 'upstream-a', method: 'GET', path: '/1', query: '?x=2' });
    expect(first.headers['x-request-id']).toBe('req-42');
    expect(first.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(first.headers['x-forwarded-proto']).toBe('http');

    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', stripBasePath: false, upstream: { gateway: 'gw-b' } } });
    await eventually(async () => {
      const response = await get(runtime, '/orders/1');
      expect(response.body).toMatchObject({ upstream: 'upstream-b', path: '/orders/1' });
    }, { message: () => stack.tails() });

    await call(controller.adminUrl, 'DELETE', '/v1/apis/orders');
    await eventually(async () => {
      const response = await get(runtime, '/orders/1');
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('no_route');
    }, { message: () => stack.tails() });

    const runtimes = await call(controller.adminUrl, 'GET', '/v1/runtimes');
    expect(runtimes.body.items).toEqual([expect.objectContaining({ nodeId: runtime.nodeId, connected: true, controller: controller.id, lastNack: null })]);
  });

  it('keeps serving the old config when the runtime NACKs, and shows the NACK on the controller', async () => {
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress], env: { CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '30000' } });
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-a' } } });
    await eventually(async () => expect((await get(runtime, '/orders/')).body.upstream).toBe('upstream-a'));

    // Accepted by the controller (it allows up to an hour), refused by this runtime.
    const rejected = await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-b' }, timeouts: { requestMs: 60000 } } });
    expect(rejected.status).toBe(200);
    const nack = await eventually(async () => {
      const runtimes = await call(controller.adminUrl, 'GET', '/v1/runtimes');
      const mine = runtimes.body.items.find((r: { nodeId: string }) => r.nodeId === runtime.nodeId);
      expect(mine?.lastNack).not.toBeNull();
      return mine.lastNack;
    }, { message: () => stack.tails() });
    expect(nack.revision).toBe(rejected.body.metadata.revision);
    expect(nack.error).toMatch(/60000/);
    expect(nack.error).toMatch(/CAUSEWAY_MAX_REQUEST_TIMEOUT_MS/);

    for (let i = 0; i < 5; i++) expect((await get(runtime, '/orders/')).body.upstream).toBe('upstream-a');

    // A fix is a new revision, and the runtime takes it.
    await call(controller.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-b' }, timeouts: { requestMs: 20000 } } });
    await eventually(async () => expect((await get(runtime, '/orders/')).body.upstream).toBe('upstream-b'), { message: () => stack.tails() });
  });

  it('gives a restarted runtime the full config again', async () => {
    await call(controller.adminUrl, 'PUT', '/v1/gateway-pools/both', { spec: { members: ['gw-a', 'gw-b'] } });
    for (const name of ['orders', 'users', 'billing']) {
      await call(controller.adminUrl, 'PUT', `/v1/apis/${name}`, { spec: { basePath: `/${name}`, upstream: { pool: 'both' } } });
    }
    const runtime = await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'rt-restart' });
    await eventually(async () => {
      for (const name of ['orders', 'users', 'billing']) expect((await get(runtime, `/${name}/`)).status).toBe(200);
    });
    const ports = { proxy: Number(new URL(runtime.proxyUrl).port), admin: Number(new URL(runtime.adminUrl).port) };
    await runtime.kill();

    const again = await stack.runtime({ controllers: [controller.xdsAddress], nodeId: 'rt-restart', ports });
    await eventually(async () => {
      for (const name of ['orders', 'users', 'billing']) {
        const response = await get(again, `/${name}/`);
        expect(response.status).toBe(200);
        expect(['upstream-a', 'upstream-b']).toContain(response.body.upstream);
      }
    }, { message: () => stack.tails() });
    const config = await call(again.adminUrl, 'GET', '/config', undefined, { token: null });
    expect(config.status).toBe(200);
  });
});
