import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';

describe('an API keeps its newest 100 revisions', () => {
  let db: TestDatabase;
  let admin: AdminController;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    expectStatus(await call(admin.base, 'PUT', '/v1/gateways/gw', { spec: { url: 'http://127.0.0.1:7001' } }), 'gateway', 201);
  });

  afterAll(async () => {
    await admin?.close();
    await db?.drop();
  });

  it('drops the oldest as new ones are written, leaves other APIs alone, and refuses a rollback to a dropped one', async () => {
    expectStatus(await call(admin.base, 'PUT', '/v1/apis/quiet', { spec: { basePath: '/quiet', upstream: { gateway: 'gw' } } }), 'quiet', 201);
    const written: number[] = [];
    for (let i = 0; i < 105; i++) {
      const answer = expectStatus(await call(admin.base, 'PUT', '/v1/apis/busy', { spec: { basePath: '/busy', upstream: { gateway: 'gw' }, timeouts: { requestMs: 1_000 + i } } }), `write ${i}`, 200, 201);
      written.push(answer.body.metadata.revision as number);
    }
    const kept = (await call(admin.base, 'GET', '/v1/apis/busy/revisions')).body.items.map((r: { revision: number }) => r.revision);
    expect(kept).toEqual(written.slice(5).reverse());
    expect((await call(admin.base, 'GET', '/v1/apis/quiet/revisions')).body.items).toHaveLength(1);

    const dropped = await call(admin.base, 'POST', '/v1/apis/busy/rollback', { revision: written[4] });
    expect(dropped.status).toBe(404);
    expect(dropped.body.error.message).toContain(`no revision ${written[4]}`);
    const oldestKept = await call(admin.base, 'POST', '/v1/apis/busy/rollback', { revision: written[5] });
    expect(oldestKept.status).toBe(200);
    expect(oldestKept.body.spec.timeouts.requestMs).toBe(1_005);
  });
});
