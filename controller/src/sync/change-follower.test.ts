import { once } from 'node:events';
import { testScope } from '../testing/test-scope.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@causeway/shared';
import { validateDocument } from '../admin-api/validate.ts';
import { createControllerMetrics, type ControllerMetrics } from '../metrics.ts';
import type { Sql } from '../store/database.ts';
import { pruneChangeLog } from '../store/maintenance.ts';
import { kinds, type Kind } from '../store/records.ts';
import { ResourceStore, type PutItem } from '../store/resource-store.ts';
import { tables } from '../store/tables.ts';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.ts';
import { ChangeFollower, type ModelUpdate } from './change-follower.ts';
import { loadAccess } from '../store/access-tables.ts';
import { modelFromRecords, type Model } from './model.ts';

const silent = createLogger('test', { level: 'silent' });
/** Long enough that no timer reads the log during a test: every read has a reason the test controls. */
const NEVER_MS = 600_000;

function item(kind: Kind, name: string, spec: Record<string, unknown>): PutItem {
  const doc = validateDocument({ kind, metadata: { name }, spec });
  return { kind: doc.kind, name: doc.name, labels: doc.labels, spec: doc.spec };
}

async function readCount(metrics: ControllerMetrics, name: 'catchUps' | 'fullLoads', reason?: string): Promise<number> {
  const values = (await metrics[name].get()).values;
  return values.filter((v) => reason === undefined || v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

/** What a replica starting now would load: the store in full. */
async function storedModel(sql: Sql, revision: number): Promise<Model> {
  const records = (await Promise.all(kinds.map((kind) => tables[kind].list(sql)))).flat();
  const [state] = await sql<{ hop_key: Buffer }[]>`SELECT hop_key FROM config_state`;
  return modelFromRecords(revision, records, await loadAccess(sql), new Uint8Array(state?.hop_key ?? []));
}

describe('ChangeFollower', () => {
  let db: TestDatabase;
  let store: ResourceStore;
  let metrics: ControllerMetrics;
  let follower: ChangeFollower;
  let queries: string[];

  /** A follower on a pool of its own (one connection, so that a test can hold its reads back). */
  async function startFollower(): Promise<{ follower: ChangeFollower; sql: Sql }> {
    const sql = db.connect({ poolSize: 1, onQuery: (query) => queries.push(query) });
    follower = new ChangeFollower({ sql, log: silent, metrics, reconcileIntervalMs: NEVER_MS, probeIntervalMs: NEVER_MS, controllerId: 'test' });
    await follower.start();
    return { follower, sql };
  }

  /** The next model update, failing after a bound rather than at the test's timeout. */
  function nextUpdate(): Promise<[ModelUpdate]> {
    return once(follower, 'update', { signal: AbortSignal.timeout(10_000) }) as Promise<[ModelUpdate]>;
  }

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new ResourceStore(db.sql, testScope());
    metrics = createControllerMetrics();
    queries = [];
    await store.putMany([item('Gateway', 'gw-a', { url: 'http://10.0.0.1' }), item('Api', 'orders', { basePath: '/orders', upstream: { gateway: 'gw-a' } })]);
  });

  afterEach(async () => {
    await follower.close();
    await db.drop();
  });

  it('reloads everything when the log no longer reaches back to what it applied (pruned meanwhile)', async () => {
    const { sql } = await startFollower();
    const loaded = follower.model.revision;
    expect(await readCount(metrics, 'fullLoads')).toBe(1);
    // The follower waits for a connection while others write and the log is pruned.
    const held = await sql.reserve();
    await store.put('Gateway', 'gw-b', {}, item('Gateway', 'gw-b', { url: 'http://10.0.0.2' }).spec as never);
    await store.delete('Api', 'orders');
    expect(await pruneChangeLog(db.sql, 0, 0)).toBeGreaterThan(0);
    const update = nextUpdate();
    held.release();
    const [{ model, changed }] = await update;

    expect(changed, 'a full load names no changes: everything may have changed').toBeUndefined();
    expect(model.revision).toBeGreaterThan(loaded);
    expect(await readCount(metrics, 'fullLoads')).toBe(2);
    expect(model).toEqual(await storedModel(db.sql, model.revision));
    expect([...model.apis.keys()]).toEqual([]);
    expect(model.hopKey).toHaveLength(32); // the deployment's hop marker key comes with a full load
  });

  it('catches up after its LISTEN connection is lost, without a notification', async () => {
    await startFollower();
    const before = follower.model.revision;
    // A change whose notification never reaches the follower (as when it is sent while the
    // LISTEN connection is down): committed without one.
    await db.sql.begin(async (tx) => {
      const [state] = await tx<{ revision: number }[]>`UPDATE config_state SET revision = revision + 1 RETURNING revision`;
      const revision = state?.revision ?? 0;
      const spec = item('Gateway', 'gw-silent', { url: 'http://10.0.0.9' }).spec;
      await tx`INSERT INTO gateways (org_id, name, spec, revision) VALUES ('default', 'gw-silent', ${tx.json(spec as never)}, ${revision})`;
      await tx`INSERT INTO config_changes (revision, seq, kind, org_id, name, op) VALUES (${revision}, 0, 'gateway', 'default', 'gw-silent', 'upsert')`;
    });
    expect(follower.model.gateways.has('default/gw-silent')).toBe(false);
    const listenReads = await readCount(metrics, 'catchUps', 'listen');

    const update = nextUpdate();
    const terminated = await db.sql<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen %' AND pg_terminate_backend(pid)`;
    expect(terminated).toHaveLength(1);
    const [{ model, changed }] = await update;

    expect(model.revision).toBe(before + 1);
    expect(model.gateways.get('default/gw-silent')?.spec.url).toBe('http://10.0.0.9');
    expect(changed?.map((e) => `${e.kind}/${e.name}`)).toEqual(['Gateway/gw-silent']);
    expect(await readCount(metrics, 'catchUps', 'listen')).toBeGreaterThan(listenReads);
    expect(await readCount(metrics, 'catchUps', 'notify')).toBe(0);
  });

  it('regression: a zone that was loaded in full and then deleted leaves the model (zones are modelled without an org)', async () => {
    await store.put('Zone', 'eu-1', {}, item('Zone', 'eu-1', { dtcUrl: 'http://eu-1.example' }).spec as never);
    await startFollower();
    expect([...follower.model.zones.keys()]).toEqual(['eu-1']);
    const update = nextUpdate();
    await store.delete('Zone', 'eu-1');
    const [{ model }] = await update;
    expect([...model.zones.keys()]).toEqual([]);
  });

  it('reads a batch of changed entities of every kind with one query per kind, however many changed', async () => {
    const { sql } = await startFollower();
    const gateways = Array.from({ length: 300 }, (_, i) => item('Gateway', `gw-${i}`, { url: `http://10.1.${i >> 8}.${i & 255}` }));
    const pools = Array.from({ length: 50 }, (_, i) => item('GatewayPool', `pool-${i}`, { members: [`gw-${i}`, `gw-${i + 50}`] }));
    const zones = Array.from({ length: 20 }, (_, i) => item('Zone', `zone-${i}`, { dtcUrl: `http://zone-${i}.example` }));
    const apis = Array.from({ length: 300 }, (_, i) => item('Api', `api-${i}`, { basePath: `/api-${i}`, upstream: i % 2 === 0 ? { pool: `pool-${i % 50}` } : { gateway: `gw-${i}` } }));
    // Several revisions read at once: the follower is held back while they commit.
    const held = await sql.reserve();
    await store.putMany([...gateways, ...pools, ...zones, ...apis]);
    await store.putMany([item('Gateway', 'gw-7', { url: 'http://10.9.9.9' }), item('Zone', 'zone-3', { dtcUrl: 'http://moved.example' })]);
    await store.delete('Api', 'api-1');
    await store.delete('Gateway', 'gw-1');
    await store.delete('Zone', 'zone-4');
    queries.length = 0;
    const update = nextUpdate();
    held.release();
    const [{ model, changed }] = await update;

    // One read: the revision, the log, then one query per kind of changed entity.
    const reads = queries.filter((q) => /^\s*select/i.test(q));
    expect(reads.length, reads.join('\n')).toBe(2 + 4);
    // Each changed entity once, in the order the log names them first.
    expect(changed).toHaveLength(gateways.length + pools.length + zones.length + apis.length);
    expect(new Set(changed?.map((e) => `${e.kind}/${e.org}/${e.name}`)).size).toBe(changed?.length);
    expect(changed?.find((e) => e.kind === 'Api' && e.name === 'api-1')?.record).toBeUndefined();
    expect(changed?.find((e) => e.kind === 'Gateway' && e.name === 'gw-7')?.record?.spec).toMatchObject({ url: 'http://10.9.9.9' });
    // Applied one by one to what it held, the batch gives what a full load gives.
    expect(model).toEqual(await storedModel(db.sql, model.revision));
    expect(await readCount(metrics, 'fullLoads')).toBe(1);
  });
});
