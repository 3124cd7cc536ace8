import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../harness/access.ts';
import { startAdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';

const DAY_MS = 86_400_000;
const ago = (days: number): string => new Date(Date.now() - days * DAY_MS).toISOString();

/** What CAUSEWAY_AUDIT_RETENTION_DAYS forgets, and what it must keep. */
describe('retention: what finished longer ago than CAUSEWAY_AUDIT_RETENTION_DAYS is forgotten', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { onnotice: () => undefined });
    // Written through a first controller, then aged by hand: a chores replica prunes at its first tick.
    const first = await startAdminController(db.url);
    expectStatus(await call(first.base, 'PUT', '/v1/gateways/gw', { spec: { url: 'http://127.0.0.1:7001' } }), 'gateway', 201);
    expectStatus(await call(first.base, 'PUT', '/v1/gateway-pools/dedicated', { spec: { members: [] } }), 'pool', 201);
    for (const name of ['live', 'gone-long-ago', 'gone-lately']) {
      expectStatus(await call(first.base, 'PUT', `/v1/apis/${name}`, { spec: { basePath: `/${name}`, upstream: { gateway: 'gw' } } }), name, 201);
    }
    for (const name of ['gone-long-ago', 'gone-lately']) expectStatus(await call(first.base, 'DELETE', `/v1/apis/${name}`), `delete ${name}`, 200);
    await first.close();
    await sql`UPDATE api_revisions SET created_at = ${ago(10)} WHERE name IN ('live', 'gone-long-ago')`;
    const allocation = (id: string, state: string, finishedDaysAgo: number | null) => ({
      id, org_id: 'default', pool_name: 'dedicated', tenant: id.slice(-6), host: `${id.slice(-6)}.example.test`, api_name: `alloc-${id.slice(-6)}`, state,
      created_at: ago(20), finished_at: finishedDaysAgo === null ? null : ago(finishedDaysAgo),
      error_code: state === 'rolled-back' ? 'unavailable' : null,
    });
    await sql`INSERT INTO allocations ${sql([
      allocation('alc_00000000000aaaa1', 'released', 10),
      allocation('alc_00000000000aaaa2', 'rolled-back', 10),
      allocation('alc_00000000000aaaa3', 'released', 0.1),
      allocation('alc_00000000000aaaa4', 'ready', null),
    ])}`;
    await sql`INSERT INTO allocation_steps (allocation_id, seq, step, direction, state, attempts, controller_id) VALUES ('alc_00000000000aaaa1', 1, 'reserve', 'do', 'done', 1, 'c')`;
    await sql`INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_name, action, resource_kind, resource_name, request_id, controller_id, source, changes, at)
      VALUES ('default', 'token', 't', 't', 'update', 'Api', 'live', 'r', 'c', '127.0.0.1', '[]', ${ago(10)})`;
  });

  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it('prunes finished allocations, deleted APIs\' revisions and audit events older than the retention, and keeps the rest', async () => {
    const controller = await startAdminController(db.url, { CAUSEWAY_AUDIT_RETENTION_DAYS: '2' });
    try {
      await eventually(async () => {
        const ids = (await sql<{ id: string }[]>`SELECT id FROM allocations ORDER BY id`).map((r) => r.id);
        expect(ids).toEqual(['alc_00000000000aaaa3', 'alc_00000000000aaaa4']);
      }, { timeoutMs: 15_000 });
      expect(await sql`SELECT 1 FROM allocation_steps WHERE allocation_id = 'alc_00000000000aaaa1'`).toHaveLength(0);
      const revisions = (await sql<{ name: string }[]>`SELECT DISTINCT name FROM api_revisions ORDER BY name`).map((r) => r.name);
      // A live API keeps its old revisions; a deleted one changed lately keeps its own.
      expect(revisions).toEqual(['gone-lately', 'live']);
      await eventually(async () => expect(await sql`SELECT 1 FROM audit_events WHERE at < now() - interval '2 days'`).toHaveLength(0));
      expect((await call(controller.base, 'GET', '/v1/apis/live/revisions')).body.items).toHaveLength(1);
    } finally {
      await controller.close();
    }
  });
});
