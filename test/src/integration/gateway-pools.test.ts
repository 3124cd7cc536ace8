import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createController, loadControllerConfig, type Controller } from '@causeway/controller';
import { createLogger } from '@causeway/shared';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

describe('gateway pools API', () => {
  let db: TestDatabase;
  let controller: Controller;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    controller = createController(
      loadControllerConfig({ CAUSEWAY_DATABASE_URL: db.url, CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN, CAUSEWAY_XDS_INSECURE: 'true', CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0', CAUSEWAY_XDS_ADDR: '127.0.0.1:0', CAUSEWAY_GATEWAY_HEARTBEAT_TTL_MS: '1000' }),
      { log: createLogger('controller', { level: 'silent' }) },
    );
    await controller.start();
    base = `http://127.0.0.1:${controller.adminAddress.port}`;
    for (const name of ['gw-1', 'gw-2', 'gw-3']) await call(base, 'PUT', `/v1/gateways/${name}`, { spec: { url: `http://127.0.0.1:1${name.slice(-1)}` } });
  });

  afterAll(async () => {
    await controller.close();
    await db.drop();
  });

  const pool = (name: string, members: string[] = []) => ({ apiVersion: 'causeway/v1', kind: 'GatewayPool', metadata: { name }, spec: { members } });

  it('creates pools with slug names, unique per org', async () => {
    const created = await call(base, 'POST', '/v1/gateway-pools', pool('payments', ['gw-1']));
    expect(created.status).toBe(201);
    expect(created.body.status).toMatchObject({ memberCount: 1, healthyMemberCount: 1, status: 'healthy', usedByCount: 0 });
    expect(created.body.status.members).toEqual([expect.objectContaining({ gateway: 'gw-1', health: 'unknown', reason: 'not checked yet' })]);
    const again = await call(base, 'POST', '/v1/gateway-pools', pool('payments'));
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe('a gateway pool named "payments" already exists');
    const bad = await call(base, 'POST', '/v1/gateway-pools', pool('Payments EU'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0]).toEqual({ path: 'metadata.name', message: `"Payments EU" is not a slug (lowercase letters, digits, '-', max 32)` });
    const long = await call(base, 'POST', '/v1/gateway-pools', pool('a'.repeat(33)));
    expect(long.status).toBe(400);
  });

  it('adds and removes members: twice is 409, a non-member is 404, another org\'s gateway is invisible', async () => {
    await call(base, 'POST', '/v1/gateway-pools', pool('members'));
    const added = await call(base, 'POST', '/v1/gateway-pools/members/memberships', { gateway: 'gw-2' });
    expect(added.status).toBe(201);
    expect(added.body.spec.members).toEqual(['gw-2']);
    expect((await call(base, 'POST', '/v1/gateway-pools/members/memberships', { gateway: 'gw-2' })).status).toBe(409);
    expect((await call(base, 'POST', '/v1/gateway-pools/members/memberships', { gateway: 'nope' })).body.error).toEqual({ code: 'not_found', message: 'gateway "nope" does not exist' });
    expect((await call(base, 'DELETE', '/v1/gateway-pools/members/memberships/gw-3')).status).toBe(404);
    const removed = await call(base, 'DELETE', '/v1/gateway-pools/members/memberships/gw-2');
    expect(removed.status).toBe(200);
    expect(removed.body.spec.members).toEqual([]);
    expect(removed.body.status.status).toBe('down');

    // A gateway of another org exists in the database but not for this org.
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      await sql`INSERT INTO orgs (id, name) VALUES ('acme', 'Acme') ON CONFLICT DO NOTHING`;
      await sql`INSERT INTO gateways (org_id, name, spec, revision) VALUES ('acme', 'acme-gw', ${sql.json({ url: 'http://10.0.0.1', zone: 'default' })}, 0)`;
    } finally {
      await sql.end();
    }
    expect((await call(base, 'POST', '/v1/gateway-pools/members/memberships', { gateway: 'acme-gw' })).status).toBe(404);
    expect((await call(base, 'GET', '/v1/gateways/acme-gw')).status).toBe(404);
    expect((await call(base, 'PUT', '/v1/gateway-pools/members', { spec: { members: ['acme-gw'] } })).body.error.details).toEqual([
      { path: 'spec.members[0]', message: 'gateway "acme-gw" does not exist' },
    ]);
  });

  it('lists what uses a pool and refuses to delete it while used', async () => {
    await call(base, 'POST', '/v1/gateway-pools', pool('used', ['gw-1', 'gw-2']));
    await call(base, 'PUT', '/v1/apis/shop', { spec: { basePath: '/shop', upstream: { pool: 'used' } } });
    const resources = await call(base, 'GET', '/v1/gateway-pools/used/resources');
    expect(resources.body.items).toEqual([{ kind: 'Api', name: 'shop' }]);
    const list = await call(base, 'GET', '/v1/gateway-pools');
    expect(list.body.items.find((p: { metadata: { name: string } }) => p.metadata.name === 'used').status.usedByCount).toBe(1);
    const refused = await call(base, 'DELETE', '/v1/gateway-pools/used');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('"shop"');
    await call(base, 'DELETE', '/v1/apis/shop');
    expect((await call(base, 'DELETE', '/v1/gateway-pools/used')).status).toBe(200);
  });

  it('renames a pool, carrying the APIs that use it along', async () => {
    await call(base, 'POST', '/v1/gateway-pools', pool('old-name', ['gw-1']));
    await call(base, 'PUT', '/v1/apis/renamed', { spec: { basePath: '/renamed', upstream: { pool: 'old-name' } } });
    const renamed = await call(base, 'PATCH', '/v1/gateway-pools/old-name', { metadata: { name: 'new-name' }, spec: { description: 'moved' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ metadata: { name: 'new-name' }, spec: { description: 'moved', members: ['gw-1'] } });
    expect((await call(base, 'GET', '/v1/gateway-pools/old-name')).status).toBe(404);
    expect((await call(base, 'GET', '/v1/apis/renamed')).body.spec.upstream).toEqual({ pool: 'new-name' });
    expect((await call(base, 'PATCH', '/v1/gateway-pools/new-name', {})).status).toBe(400);
    expect((await call(base, 'PATCH', '/v1/gateway-pools/new-name', { metadata: { name: 'payments' } })).status).toBe(409);
  });

  it('requires an API upstream to be exactly one of gateway or pool', async () => {
    const both = await call(base, 'PUT', '/v1/apis/both', { spec: { basePath: '/both', upstream: { pool: 'payments', gateway: 'gw-1' } } });
    expect(both.status).toBe(400);
    expect(both.body.error.details).toEqual([{ path: 'spec.upstream', message: 'must name exactly one of gateway or pool' }]);
  });

  it('shows a gateway that stopped sending heartbeats as down, and the pool as degraded', async () => {
    await call(base, 'POST', '/v1/gateway-pools', pool('beating', ['gw-1', 'gw-3']));
    const beat = await call(base, 'POST', '/v1/gateways/gw-3/heartbeat');
    expect(beat.status).toBe(200);
    expect((await call(base, 'GET', '/v1/gateways/gw-3')).body.status.health).toBe('healthy');
    // The heartbeat TTL of this controller is 1 s.
    const gateway = await eventually(async () => {
      const response = await call(base, 'GET', '/v1/gateways/gw-3');
      expect(response.body.status.health).toBe('unhealthy');
      return response;
    }, { timeoutMs: 5_000 });
    expect(gateway.body.status.reason).toMatch(/^no heartbeat since /);
    const beating = await call(base, 'GET', '/v1/gateway-pools/beating');
    expect(beating.body.status).toMatchObject({ status: 'degraded', memberCount: 2, healthyMemberCount: 1, health: '1/2' });
    expect((await call(base, 'POST', '/v1/gateways/nope/heartbeat')).status).toBe(404);
  });

  it('warns on a write that puts an API on a pool with no healthy member, and still saves it', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      for (const name of ['gw-up', 'gw-down']) await call(base, 'PUT', `/v1/gateways/${name}`, { spec: { url: 'http://127.0.0.1:19' } });
      // What runtimes report after checking them: one answers, one fails.
      await sql`INSERT INTO gateway_health_reports (org_id, gateway_name, node_id, healthy, reason)
        SELECT org_id, name, 'runtime-1', name = 'gw-up', CASE WHEN name = 'gw-up' THEN '' ELSE 'connection refused' END FROM gateways WHERE name IN ('gw-up', 'gw-down')`;
    } finally {
      await sql.end();
    }
    const api = (name: string, upstreamPool: string) => ({ apiVersion: 'causeway/v1', kind: 'Api', metadata: { name }, spec: { basePath: `/${name}`, upstream: { pool: upstreamPool } } });
    const emptyWarning = 'pool "empty" has no healthy member (0/0 healthy): requests will get 503 until one is';

    await call(base, 'POST', '/v1/gateway-pools', pool('empty'));
    const put = await call(base, 'PUT', '/v1/apis/on-empty', api('on-empty', 'empty'));
    expect(put.status).toBe(201);
    expect(put.body.warnings).toEqual([emptyWarning]);
    expect(put.headers.get('warning')).toBe(`199 causeway "${emptyWarning.replaceAll('"', '\\"')}"`);
    expect((await call(base, 'GET', '/v1/apis/on-empty')).status).toBe(200);

    // In an apply, the pool the same apply writes counts; every member known down warns too.
    const applied = await call(base, 'POST', '/v1/apply', { items: [pool('down', ['gw-down']), api('on-down', 'down'), api('on-empty-2', 'empty')] });
    expect(applied.status).toBe(200);
    expect(applied.body.items.map((i: { result: string }) => i.result)).toEqual(['created', 'created', 'created']);
    expect(applied.body.warnings).toEqual(['pool "down" has no healthy member (0/1 healthy): requests will get 503 until one is', emptyWarning]);
    expect(applied.headers.get('warning')).toContain('199 causeway "pool \\"down\\" has no healthy member (0/1 healthy)');

    // A member that answers, or one no runtime has checked yet (unknown, not down), is enough.
    await call(base, 'POST', '/v1/gateway-pools', pool('mixed', ['gw-down', 'gw-up']));
    await call(base, 'POST', '/v1/gateway-pools', pool('unchecked', ['gw-down', 'gw-1']));
    for (const target of ['mixed', 'unchecked']) {
      const quiet = await call(base, 'PUT', `/v1/apis/on-${target}`, api(`on-${target}`, target));
      expect(quiet.status).toBe(201);
      expect(quiet.body.warnings).toBeUndefined();
      expect(quiet.headers.get('warning')).toBeNull();
    }
    const quietApply = await call(base, 'POST', '/v1/apply', { items: [api('on-mixed', 'mixed')] });
    expect(quietApply.body.warnings).toBeUndefined();
    expect(quietApply.headers.get('warning')).toBeNull();
  });
});
