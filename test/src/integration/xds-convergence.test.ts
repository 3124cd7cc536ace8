import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJson } from '@bufbuild/protobuf';
import { createController, loadControllerConfig, type Controller } from '@causeway/controller';
import { createRuntime, loadRuntimeConfig, type Runtime } from '@causeway/runtime';
import { addOrder, createLogger, formatAddress, schemaByKind, type ResourceKind } from '@causeway/shared';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

const silent = createLogger('test', { level: 'silent' });
/** Another seed plays another sequence; the one that failed is named in the failure message. */
const SEED = 20_240_611;
const CHECKPOINTS = 4;
const CHANGES_PER_CHECKPOINT = 75;

/** A small seeded generator (mulberry32), so a failing sequence can be replayed. */
function generator(seed: number): { next(): number; int(n: number): number; pick<T>(items: readonly T[]): T } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)] as (typeof items)[number] };
}

const gateways = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'];
const pools = ['p0', 'p1', 'p2', 'p3'];
const zones = ['z0', 'z1', 'z2'];
const apis = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'];

type Random = ReturnType<typeof generator>;
type Change = { method: string; path: string; body?: unknown };

function upstream(r: Random): Record<string, string> {
  return r.next() < 0.35 ? { gateway: r.pick(gateways) } : { pool: r.pick(pools) };
}

function subset(r: Random, names: readonly string[]): string[] {
  return names.filter(() => r.next() < 0.4);
}

/** One random change; some are refused by the admin API (unknown references, used pools, bad values). */
function randomChange(r: Random): Change {
  const pick = r.int(100);
  const port = 10_000 + r.int(50);
  if (pick < 12) return { method: 'PUT', path: `/v1/gateways/${r.pick(gateways)}`, body: { spec: { url: `http://127.0.0.1:${port}`, zone: r.pick(['default', ...zones]) } } };
  if (pick < 18) return { method: 'DELETE', path: `/v1/gateways/${r.pick(gateways)}` };
  if (pick < 30) return { method: 'PUT', path: `/v1/gateway-pools/${r.pick(pools)}`, body: { spec: { members: subset(r, gateways) } } };
  if (pick < 35) return { method: 'DELETE', path: `/v1/gateway-pools/${r.pick(pools)}` };
  if (pick < 40) return { method: 'PATCH', path: `/v1/gateway-pools/${r.pick(pools)}`, body: { metadata: { name: r.pick(pools) } } };
  if (pick < 45) return { method: 'POST', path: `/v1/gateway-pools/${r.pick(pools)}/memberships`, body: { gateway: r.pick(gateways) } };
  if (pick < 49) return { method: 'DELETE', path: `/v1/gateway-pools/${r.pick(pools)}/memberships/${r.pick(gateways)}` };
  if (pick < 55) {
    const spec = { dtcUrl: r.next() < 0.5 ? '' : `http://127.0.0.1:${port}`, failoverPriority: r.int(5) * 10, failoverEligible: r.next() < 0.8 };
    return { method: 'PUT', path: `/v1/zones/${r.pick(zones)}`, body: { spec } };
  }
  if (pick < 58) return { method: 'DELETE', path: `/v1/zones/${r.pick(zones)}` };
  if (pick < 80) {
    const name = r.pick(apis);
    const failover = r.next() < 0.3 ? { enabled: true, zones: subset(r, zones) } : { enabled: false };
    const basePath = r.next() < 0.05 ? 'no-slash' : `/${name}`;
    return { method: 'PUT', path: `/v1/apis/${name}`, body: { spec: { basePath, upstream: upstream(r), failover, timeouts: { requestMs: 1_000 + r.int(6) * 1_000 } } } };
  }
  if (pick < 90) return { method: 'DELETE', path: `/v1/apis/${r.pick(apis)}` };
  const items = [
    { apiVersion: 'causeway/v1', kind: 'GatewayPool', metadata: { name: r.pick(pools) }, spec: { members: subset(r, gateways) } },
    { apiVersion: 'causeway/v1', kind: 'Api', metadata: { name: r.pick(apis) }, spec: { basePath: `/${r.pick(apis)}-x`, upstream: upstream(r) } },
  ];
  return { method: 'POST', path: '/v1/apply', body: { items } };
}

interface Held {
  readonly version: string;
  readonly resource: Record<string, unknown>;
}

/** What a runtime holds: every resource by kind and name, with its version and content. */
function held(runtime: Runtime): Record<ResourceKind, Map<string, Held>> {
  const out = { cluster: new Map<string, Held>(), zone: new Map<string, Held>(), api: new Map<string, Held>() };
  for (const kind of addOrder) {
    const schema = schemaByKind[kind];
    for (const [name, entry] of runtime.resources[kind]) {
      out[kind].set(name, { version: entry.version, resource: toJson(schema, entry.message as never) as Record<string, unknown> });
    }
  }
  return out;
}

/**
 * A long-lived runtime holds exactly what a fresh one holds, except the last good version
 * of an API whose newer versions it rejected (a NACK keeps the last good config; the
 * fresh runtime rejected the same version and holds nothing) and the clusters those use.
 */
function expectSameConfig(longLived: Runtime, fresh: Runtime, existingApis: ReadonlySet<string>): void {
  const old = held(longLived);
  const now = held(fresh);
  // Zones are never refused: exactly the same.
  expect(Object.fromEntries(old.zone)).toEqual(Object.fromEntries(now.zone));
  for (const kind of ['api', 'cluster'] as const) {
    for (const [name, entry] of now[kind]) expect(old[kind].get(name), `${kind} ${name}`).toEqual(entry);
  }
  const keptApis = [...old.api.keys()].filter((name) => !now.api.has(name));
  for (const name of keptApis) expect(existingApis, `api ${name} is gone but still held`).toContain(name);
  const keptClusters = new Set(keptApis.map((name) => old.api.get(name)?.resource.cluster));
  const extraClusters = [...old.cluster.keys()].filter((name) => !now.cluster.has(name) && !keptClusters.has(name));
  expect(extraClusters, 'clusters no API uses').toEqual([]);
}

describe('config stream convergence', () => {
  let db: TestDatabase;
  let controller: Controller;
  let other: Controller;
  let base: string;
  const runtimes: Runtime[] = [];

  async function runtime(nodeId: string, via: Controller = controller): Promise<Runtime> {
    const config = loadRuntimeConfig({
      CAUSEWAY_LISTEN_ADDR: '127.0.0.1:0',
      CAUSEWAY_RUNTIME_ADMIN_ADDR: '127.0.0.1:0',
      CAUSEWAY_CONTROLLERS: formatAddress(via.xdsAddress),
      CAUSEWAY_NODE_ID: nodeId,
      CAUSEWAY_ZONE: 'z0',
      CAUSEWAY_MAX_REQUEST_TIMEOUT_MS: '5500',
      CAUSEWAY_XDS_INSECURE: 'true',
    });
    const rt = createRuntime(config, { logger: silent, shutdownGraceMs: 100, backoff: { initialMs: 20, maxMs: 200 } });
    await rt.start();
    runtimes.push(rt);
    return rt;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    controller = createController(
      loadControllerConfig({ CAUSEWAY_DATABASE_URL: db.url, CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN, CAUSEWAY_XDS_INSECURE: 'true', CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0', CAUSEWAY_XDS_ADDR: '127.0.0.1:0' }),
      { log: silent },
    );
    await controller.start();
    other = createController(
      loadControllerConfig({ CAUSEWAY_DATABASE_URL: db.url, CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN, CAUSEWAY_XDS_INSECURE: 'true', CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0', CAUSEWAY_XDS_ADDR: '127.0.0.1:0' }),
      { log: silent },
    );
    await other.start();
    base = `http://127.0.0.1:${controller.adminAddress.port}`;
  });

  afterAll(async () => {
    await Promise.all(runtimes.map((rt) => rt.close()));
    await controller.close();
    await other.close();
    await db.drop();
  });

  // Changes go through one replica; the long-lived runtime streams from the other, fresh ones
  // from the first. Runtimes refuse request timeouts above 5.5 s, so some API versions are
  // NACKed (the admin API accepts up to 300 s): a change refused by the runtime, besides the
  // ones the admin API refuses (unknown references, pools in use, bad values).
  it('regression: a long-lived runtime holds what a freshly started one holds after any sequence of changes', async () => {
    const r = generator(SEED);
    const longLived = await runtime('long-lived', other);
    const statuses = new Map<number, number>();
    for (let checkpoint = 1; checkpoint <= CHECKPOINTS; checkpoint++) {
      for (let i = 0; i < CHANGES_PER_CHECKPOINT; i++) {
        const change = randomChange(r);
        const answer = await call(base, change.method, change.path, change.body);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status, `${change.method} ${change.path}: ${answer.text}`).toBeLessThan(500);
      }
      const [row] = await controller.sql<{ revision: string }[]>`SELECT revision FROM config_state`;
      const revision = BigInt(row?.revision ?? 0);
      const fresh = await runtime(`fresh-${checkpoint}`);
      const listed = await call(base, 'GET', '/v1/apis');
      const existing = new Set<string>(listed.body.items.map((item: { metadata: { name: string } }) => `default/${item.metadata.name}`));
      await eventually(
        async () => {
          // Both answered every API response up to the revision (a rejected one leaves the applied revision behind).
          const answered = await controller.sql<{ api_acked_revision: string }[]>`
            SELECT api_acked_revision FROM runtimes WHERE node_id IN ('long-lived', ${`fresh-${checkpoint}`})`;
          expect(answered.map((row) => BigInt(row.api_acked_revision) >= revision)).toEqual([true, true]);
          expectSameConfig(longLived, fresh, existing);
        },
        { timeoutMs: 5_000, message: () => `seed ${SEED}, checkpoint ${checkpoint}, revision ${revision}` },
      );
      await fresh.close();
    }
    // The sequence had changes of every outcome: applied, refused as invalid, refused as conflicting.
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 201, 400, 404, 409]));
  });
});
