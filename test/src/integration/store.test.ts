import { readdir } from 'node:fs/promises';
import { testScope } from '../../../controller/src/testing/test-scope.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@causeway/shared';
import { CausewayError } from '@causeway/shared';
import { connectDatabase, type Sql } from '../../../controller/src/store/database.ts';
import { migrate } from '../../../controller/src/store/migrate.ts';
import { ResourceStore } from '../../../controller/src/store/resource-store.ts';
import type { ApiSpec, GatewaySpec } from '../../../controller/src/store/records.ts';
import { validateDocument } from '../../../controller/src/admin-api/validate.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';

const log = createLogger('test', { level: 'silent' });

function gatewaySpec(url: string): GatewaySpec {
  return validateDocument({ kind: 'Gateway', metadata: { name: 'x' }, spec: { url } }).spec as GatewaySpec;
}

function apiSpec(spec: Record<string, unknown>): ApiSpec {
  return validateDocument({ kind: 'Api', metadata: { name: 'x' }, spec }).spec as ApiSpec;
}

describe('store on real PostgreSQL', () => {
  let db: TestDatabase;
  let sql: Sql;
  let store: ResourceStore;

  beforeEach(async () => {
    db = await createTestDatabase();
    sql = connectDatabase({ url: db.url, poolSize: 10, log });
    store = new ResourceStore(sql, testScope());
  });

  afterEach(async () => {
    await sql.end();
    await db.drop();
  });

  async function state(): Promise<{ revision: number; changes: number }> {
    const [row] = await sql<{ revision: number; changes: number }[]>`
      SELECT (SELECT revision FROM config_state) AS revision, (SELECT count(*)::int FROM config_changes) AS changes`;
    return row ?? { revision: -1, changes: -1 };
  }

  it('applies migrations once, however often and however concurrently it is asked', async () => {
    const others = Array.from({ length: 5 }, () => connectDatabase({ url: db.url, poolSize: 2, log }));
    try {
      const results = await Promise.all(others.map((other) => migrate(other, log)));
      const files = (await readdir(new URL('../../../controller/src/store/migrations/', import.meta.url))).filter((f) => f.endsWith('.sql')).sort();
      expect(files.length).toBeGreaterThan(1);
      // Each migration was applied exactly once, by whichever connection got the lock first.
      expect(results.flat().sort()).toEqual(files);
      expect(await migrate(sql, log)).toEqual([]);
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM schema_migrations`;
      expect(row?.n).toBe(files.length);
      expect(await state()).toEqual({ revision: 0, changes: 0 });
    } finally {
      await Promise.all(others.map((other) => other.end()));
    }
  });

  describe('after migration', () => {
    beforeEach(async () => {
      await migrate(sql, log);
    });

    it('bumps the revision and logs the change in the same transaction as the write', async () => {
      const { record } = await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7001'));
      expect(record.revision).toBe(1);
      const changes = await sql`SELECT revision, kind, org_id, name, op FROM config_changes ORDER BY revision, seq`;
      expect(changes.map((c) => ({ ...c }))).toEqual([{ revision: 1, kind: 'gateway', org_id: 'default', name: 'gw-a', op: 'upsert' }]);
      expect((await state()).revision).toBe(1);
    });

    it('records a gateway change as a change of every pool it belongs to', async () => {
      await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7001'));
      await store.put('GatewayPool', 'pool-a', {}, { members: ['gw-a'], description: '' });
      await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7002'));
      const changes = await sql<{ kind: string; name: string }[]>`SELECT kind, name FROM config_changes WHERE revision = 3 ORDER BY seq`;
      expect(changes.map((c) => `${c.kind}/${c.name}`).sort()).toEqual(['gateway/gw-a', 'gateway_pool/pool-a']);
      expect((await store.get('GatewayPool', 'pool-a'))?.revision).toBe(3);
    });

    it('changes nothing when a write fails: no revision, no log row, no entity', async () => {
      await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7001'));
      const before = await state();
      const failure = await store
        .put('Api', 'orders', {}, apiSpec({ basePath: '/orders', upstream: { pool: 'missing' } }))
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(CausewayError);
      expect((failure as CausewayError).details).toEqual([{ path: 'spec.upstream.pool', message: 'gateway pool "missing" does not exist' }]);
      expect(await state()).toEqual(before);
      expect(await store.get('Api', 'orders')).toBeUndefined();
    });

    it('writes nothing when a PUT repeats the stored spec', async () => {
      const first = await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7001'));
      const again = await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7001'));
      expect(again).toMatchObject({ created: false, changed: false });
      expect(again.record.revision).toBe(first.record.revision);
      expect(await state()).toEqual({ revision: 1, changes: 1 });
    });

    it('refuses to delete a gateway or pool an API still uses, and says which API', async () => {
      await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7001'));
      await store.put('GatewayPool', 'pool-a', {}, { members: ['gw-a'], description: '' });
      await store.put('Api', 'orders', {}, apiSpec({ basePath: '/orders', upstream: { pool: 'pool-a' } }));
      const before = await state();
      const error = await store.delete('GatewayPool', 'pool-a').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'conflict', message: 'gateway pool "pool-a" is still used by API "orders"; change or delete them first' });
      expect(await state()).toEqual(before);
      // A gateway in a pool may go, leaving the pool (logged as changed); as its last member
      // while an API uses the pool, only when forced.
      await expect(store.delete('Gateway', 'gw-a')).rejects.toMatchObject({ code: 'conflict' });
      expect(await state()).toEqual(before);
      await store.delete('Gateway', 'gw-a', { force: true });
      expect((await store.get('GatewayPool', 'pool-a'))?.spec.members).toEqual([]);
    });

    it('answers 412-style precondition failures when If-Match names an old revision', async () => {
      const { record } = await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7001'));
      await store.put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7002'), { ifMatch: record.revision });
      const stale = await store
        .put('Gateway', 'gw-a', {}, gatewaySpec('http://127.0.0.1:7003'), { ifMatch: record.revision })
        .catch((e: unknown) => e);
      expect(stale).toMatchObject({ code: 'precondition_failed' });
      expect((await store.get('Gateway', 'gw-a'))?.spec.url).toBe('http://127.0.0.1:7002');
    });

    it('gives concurrent writers distinct revisions in commit order', async () => {
      const writes = Array.from({ length: 20 }, (_, i) =>
        store.put('Gateway', `gw-${i}`, {}, gatewaySpec(`http://127.0.0.1:${7000 + i}`)),
      );
      const revisions = (await Promise.all(writes)).map((w) => w.record.revision).sort((a, b) => a - b);
      expect(revisions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await state()).toEqual({ revision: 20, changes: 20 });
    });
  });
});
