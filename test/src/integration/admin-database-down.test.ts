import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { startStoppableDatabase, type StoppableDatabase } from '../harness/stoppable-database.ts';

/** The admin API while its PostgreSQL is stopped, and after it is back. */
describe('admin API without its database', () => {
  let database: StoppableDatabase;
  let admin: AdminController;

  beforeAll(async () => {
    // A PostgreSQL of its own, so that stopping it disturbs no other test.
    database = await startStoppableDatabase();
    admin = await startAdminController(database.url);
    expect((await call(admin.base, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'http://127.0.0.1:7001' } })).status).toBe(201);
  });

  afterAll(async () => {
    await admin.close();
    await database.close();
  });

  it('regression: with PostgreSQL stopped, writes and reads answer 503 unavailable at once and /readyz names the database', async () => {
    expect((await call(admin.base, 'GET', '/readyz', undefined, { token: null })).status).toBe(200);
    await database.stopServer();

    const started = Date.now();
    const put = await call(admin.base, 'PUT', '/v1/gateways/gw-2', { spec: { url: 'http://127.0.0.1:7002' } });
    const elapsedMs = Date.now() - started;
    expect(put.status, put.text).toBe(503);
    expect(put.body.error.code).toBe('unavailable');
    expect(elapsedMs).toBeLessThan(5_000);

    const list = await call(admin.base, 'GET', '/v1/gateways');
    expect(list.status, list.text).toBe(503);
    expect(list.body.error.code).toBe('unavailable');
    const apply = await call(admin.base, 'POST', '/v1/apply', { items: [{ kind: 'Gateway', metadata: { name: 'gw-3' }, spec: { url: 'http://127.0.0.1:7003' } }] });
    expect(apply.status, apply.text).toBe(503);

    // A cached answer from before the stop may be served for up to a second.
    const ready = await eventually(async () => {
      const response = await call(admin.base, 'GET', '/readyz', undefined, { token: null });
      expect(response.status).toBe(503);
      return response.body;
    }, { timeoutMs: 5_000 });
    expect(ready).toMatchObject({ status: 'not_ready', failed: ['database'], checks: { load: { ok: true }, database: { ok: false } } });
    expect(ready.checks.database.reason).toMatch(/^unreachable \(|^no answer within/);
    // Liveness does not depend on the database: the process is fine.
    expect((await call(admin.base, 'GET', '/healthz', undefined, { token: null })).status).toBe(200);
    const metrics = await call(admin.base, 'GET', '/metrics', undefined, { token: null });
    expect(metrics.text).toMatch(/^causeway_controller_database_reachable 0$/m);

    await database.startServer();
    // The first queries after the restart may meet connections that died with the old server.
    await eventually(async () => {
      const response = await call(admin.base, 'PUT', '/v1/gateways/gw-2', { spec: { url: 'http://127.0.0.1:7002' } });
      expect(response.status, response.text).toBe(201);
    }, { timeoutMs: 15_000 });
    await eventually(async () => {
      const response = await call(admin.base, 'GET', '/readyz', undefined, { token: null });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toMatchObject({ status: 'ready', failed: [], checks: { database: { ok: true } } });
    }, { timeoutMs: 15_000 });
    const names = (await call(admin.base, 'GET', '/v1/gateways')).body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(names).toEqual(['gw-1', 'gw-2']);
  });
});
