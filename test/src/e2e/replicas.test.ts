import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { startLoad } from '../harness/load.ts';
import { Stack, type ControllerProcess, type RuntimeProcess } from '../harness/processes.ts';

/** ARCHITECTURE.md §6, guarantees 1–3, with controllers and runtimes as separate processes. */
describe('replicas in sync', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeEach(async () => {
    db = await createTestDatabase();
    stack = new Stack();
  });

  afterEach(async () => {
    await stack.close();
    await db.drop();
  });

  const upstreamOf = async (runtime: RuntimeProcess, path: string) => (await call(runtime.proxyUrl, 'GET', path, undefined, { token: null })).body?.upstream;
  const statusOf = async (runtime: RuntimeProcess, path: string) => (await call(runtime.proxyUrl, 'GET', path, undefined, { token: null })).status;

  async function twoReplicas(): Promise<[ControllerProcess, ControllerProcess]> {
    // Started together on an empty database: the migrations race and both must serve.
    const [a, b] = await Promise.all([
      stack.controller({ databaseUrl: db.url, id: 'replica-a' }),
      stack.controller({ databaseUrl: db.url, id: 'replica-b' }),
    ]);
    return [a, b];
  }

  it('serves on a runtime of replica B what was deployed through replica A', async () => {
    const [a, b] = await twoReplicas();
    const upstream = await stack.upstream('upstream-1');
    const runtime = await stack.runtime({ controllers: [b.xdsAddress] });
    await call(a.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: upstream.url } });
    await call(a.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    await eventually(async () => expect(await upstreamOf(runtime, '/orders/1')).toBe('upstream-1'), { message: () => stack.tails() });
    const controllers = await call(b.adminUrl, 'GET', '/v1/controllers');
    expect(controllers.body.items.map((c: { id: string }) => c.id).sort()).toEqual(['replica-a', 'replica-b']);

    // A change no runtime holds (a gateway no API uses) still moves the runtime's applied
    // revision: it is in sync, and its replication lag says 0.
    const unused = await call(a.adminUrl, 'PUT', '/v1/gateways/unused', { spec: { url: upstream.url } });
    const committed: number = unused.body.metadata.revision;
    await eventually(async () => {
      const metrics = (await call(runtime.adminUrl, 'GET', '/metrics', undefined, { token: null })).text;
      expect(metrics).toMatch(new RegExp(`causeway_runtime_applied_revision ${committed}\\b`));
      expect(metrics).toMatch(/causeway_runtime_replication_lag_revisions 0\b/);
      const runtimes = await call(b.adminUrl, 'GET', '/v1/runtimes');
      expect(runtimes.body.items).toMatchObject([{ nodeId: runtime.nodeId, appliedRevision: committed }]);
    }, { message: () => stack.tails() });
  });

  it('loses no request when the replica a runtime streams from is killed, and the other replica sends what changed meanwhile', async () => {
    const [a, b] = await twoReplicas();
    const [u1, u2] = await Promise.all([stack.upstream('upstream-1'), stack.upstream('upstream-2')]);
    await call(a.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: u1.url } });
    await call(a.adminUrl, 'PUT', '/v1/gateways/gw-2', { spec: { url: u2.url } });
    await call(a.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
    await call(a.adminUrl, 'PUT', '/v1/apis/legacy', { spec: { basePath: '/legacy', upstream: { gateway: 'gw-1' } } });
    const runtime = await stack.runtime({ controllers: [a.xdsAddress, b.xdsAddress] });
    await eventually(async () => {
      expect(await upstreamOf(runtime, '/orders/')).toBe('upstream-1');
      expect(await statusOf(runtime, '/legacy/')).toBe(200);
    }, { message: () => stack.tails() });

    const load = startLoad(`${runtime.proxyUrl}/orders/`, { concurrency: 4 });
    await eventually(() => expect(load.sent).toBeGreaterThan(50));
    await a.kill();
    // While the runtime is detached (or re-attaching), change one API and delete another through B.
    await call(b.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-2' } } });
    await call(b.adminUrl, 'DELETE', '/v1/apis/legacy');
    await eventually(async () => {
      expect(await upstreamOf(runtime, '/orders/')).toBe('upstream-2');
      expect(await statusOf(runtime, '/legacy/')).toBe(404);
    }, { timeoutMs: 15_000, message: () => stack.tails() });
    const result = await load.stop();
    expect(result.failed, JSON.stringify([...result.statuses])).toBe(0);
    expect(result.sent).toBeGreaterThan(100);
    const runtimes = await call(b.adminUrl, 'GET', '/v1/runtimes');
    expect(runtimes.body.items).toEqual([expect.objectContaining({ nodeId: runtime.nodeId, controller: 'replica-b', connected: true })]);
  });

  it('delivers a change committed while a replica\'s LISTEN connection is down', async () => {
    const [a, b] = await twoReplicas();
    const upstream = await stack.upstream('upstream-1');
    const runtime = await stack.runtime({ controllers: [b.xdsAddress] });
    await call(a.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: upstream.url } });
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      // Cut every LISTEN connection (both replicas'), then commit at once: the notification
      // goes nowhere, and only the log read on reconnect or on the timer can bring it.
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = current_database() AND query ILIKE 'listen%' AND pid <> pg_backend_pid()`;
      await call(a.adminUrl, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' } } });
      await eventually(async () => expect(await upstreamOf(runtime, '/orders/')).toBe('upstream-1'), { timeoutMs: 5_000, message: () => stack.tails() });
    } finally {
      await admin.end();
    }
  });

  it('never loses an update to concurrent writers: If-Match conflicts answer 412', async () => {
    const [a, b] = await twoReplicas();
    await call(a.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:1' } });
    const read = await call(b.adminUrl, 'GET', '/v1/gateways/gw-1');
    const tag = read.headers.get('etag') ?? '';
    const writes = await Promise.all(
      [a, b, a, b].map((replica, i) => call(replica.adminUrl, 'PUT', '/v1/gateways/gw-1', { spec: { url: `http://127.0.0.1:${100 + i}` } }, { headers: { 'if-match': tag } })),
    );
    const statuses = writes.map((w) => w.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412]);
    const winner = writes.find((w) => w.status === 200);
    expect((await call(b.adminUrl, 'GET', '/v1/gateways/gw-1')).body.spec.url).toBe(winner?.body.spec.url);
  });
});
