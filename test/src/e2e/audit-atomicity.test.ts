import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack } from '../harness/processes.ts';

/** A change and its audit event commit together: a controller that dies between them leaves neither. */
describe('audit events commit with their change', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 1, onnotice: () => undefined });
  });

  afterEach(async () => {
    await stack.close();
  });

  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  /** What the database holds of gateway `name`: its row, its revision-log rows, its audit events, and the revision. */
  async function traces(name: string): Promise<{ rows: number; changes: number; events: number; revision: number }> {
    const [row] = await sql<{ rows: number; changes: number; events: number; revision: number }[]>`
      SELECT (SELECT count(*)::int FROM gateways WHERE name = ${name}) AS rows,
             (SELECT count(*)::int FROM config_changes WHERE name = ${name}) AS changes,
             (SELECT count(*)::int FROM audit_events WHERE resource_name = ${name} AND outcome = 'ok') AS events,
             (SELECT revision::int FROM config_state) AS revision`;
    if (row === undefined) throw new Error('config_state is empty');
    return row;
  }

  it('a controller killed (SIGKILL) after writing the change and its event, before the commit, leaves neither', async () => {
    stack = new Stack();
    const dying = await stack.controller({ databaseUrl: db.url, id: 'dying', env: { CAUSEWAY_FAILPOINTS: 'mutation.before-commit=exit' } });
    const before = await traces('gw-lost');
    const write = await call(dying.adminUrl, 'PUT', '/v1/gateways/gw-lost', { spec: { url: 'http://127.0.0.1:7001' } }).catch((error: unknown) => error);
    expect(write).toBeInstanceOf(Error);
    await eventually(() => {
      if (dying.running) throw new Error('the controller is still running');
    });
    expect(dying.child.signalCode).toBe('SIGKILL');
    // The transaction died with its connection: nothing of it was committed.
    await eventually(async () => {
      const [open] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'causeway-controller' AND state LIKE 'idle in transaction%'`;
      if ((open?.n ?? 0) > 0) throw new Error('the killed controller\'s transaction is still open');
    });
    expect(await traces('gw-lost')).toEqual({ rows: 0, changes: 0, events: 0, revision: before.revision });
  });

  it('the same write on a controller without the failpoint commits the change and its event together', async () => {
    stack = new Stack();
    const controller = await stack.controller({ databaseUrl: db.url, id: 'healthy' });
    const before = await traces('gw-kept');
    const write = await call(controller.adminUrl, 'PUT', '/v1/gateways/gw-kept', { spec: { url: 'http://127.0.0.1:7002' } });
    expect(write.status).toBe(201);
    expect(await traces('gw-kept')).toEqual({ rows: 1, changes: 1, events: 1, revision: before.revision + 1 });
  });

  it('a write that fails before its commit answers 500 and leaves neither change nor event', async () => {
    stack = new Stack();
    const failing = await stack.controller({ databaseUrl: db.url, id: 'failing', env: { CAUSEWAY_FAILPOINTS: 'mutation.before-commit=error' } });
    const before = await traces('gw-failed');
    const write = await call(failing.adminUrl, 'PUT', '/v1/gateways/gw-failed', { spec: { url: 'http://127.0.0.1:7003' } });
    expect(write.status).toBe(500);
    expect(write.body.error).toEqual({ code: 'internal', message: 'internal error' });
    expect(failing.running).toBe(true);
    expect(await traces('gw-failed')).toEqual({ rows: 0, changes: 0, events: 0, revision: before.revision });
  });
});
