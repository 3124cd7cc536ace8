import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '@causeway/controller';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';

/** What the admin API accepts: canonical forms, references that must hold, and big writes. */
describe('accepted configuration', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let controller: Controller;
  let base: string;
  const revision = (): Promise<number | undefined> => admin.revision();

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    ({ controller, base } = admin);
    expect((await call(base, 'PUT', '/v1/gateways/gw-1', { spec: { url: 'HTTP://127.0.0.1:7001/' } })).status).toBe(201);
    expect((await call(base, 'PUT', '/v1/gateways/gw-2', { spec: { url: 'http://127.0.0.1:7002' } })).status).toBe(201);
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('regression: a base path that only differs by percent-encoding conflicts with the existing one', async () => {
    expect((await call(base, 'PUT', '/v1/apis/dup', { spec: { basePath: '/dup', upstream: { gateway: 'gw-1' } } })).status).toBe(201);
    const before = await revision();
    const clash = await call(base, 'PUT', '/v1/apis/dup-2', { spec: { basePath: '/%64up', upstream: { gateway: 'gw-1' } } });
    expect(clash.status).toBe(409);
    expect(clash.body.error.details).toEqual([{ path: 'spec.basePath', message: '"/dup" is already used by API "dup"' }]);
    const inApply = await call(base, 'POST', '/v1/apply', { items: [{ kind: 'Api', metadata: { name: 'dup-3' }, spec: { basePath: '/d%75p/', upstream: { gateway: 'gw-1' } } }] });
    expect(inApply.status).toBe(409);
    expect(await revision()).toBe(before);
  });

  it('regression: an empty base path is refused, not stored as a catch-all', async () => {
    const empty = await call(base, 'PUT', '/v1/apis/empty', { spec: { basePath: '', upstream: { gateway: 'gw-1' } } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details).toEqual([{ path: 'spec.basePath', message: `"" is empty; must start with '/' ('/' serves every path)` }]);
    expect((await call(base, 'GET', '/v1/apis/empty')).status).toBe(404);
  });

  it('stores gateway URLs in their canonical form', async () => {
    expect((await call(base, 'GET', '/v1/gateways/gw-1')).body.spec.url).toBe('http://127.0.0.1:7001');
  });

  it("regression: an API's failover list may only name zones that exist", async () => {
    const missing = await call(base, 'PUT', '/v1/apis/fo', { spec: { basePath: '/fo', upstream: { gateway: 'gw-1' }, failover: { enabled: true, zones: ['eu-9'] } } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details).toEqual([{ path: 'spec.failover.zones[0]', message: 'zone "eu-9" does not exist' }]);
    expect((await call(base, 'PUT', '/v1/zones/eu-9', { spec: { dtcUrl: 'http://127.0.0.1:7999' } })).status).toBe(201);
    expect((await call(base, 'PUT', '/v1/apis/fo', { spec: { basePath: '/fo', upstream: { gateway: 'gw-1' }, failover: { enabled: true, zones: ['eu-9'] } } })).status).toBe(201);
  });

  it('regression: a zone in an API\'s failover list is not deleted unless forced', async () => {
    const before = await revision();
    const refused = await call(base, 'DELETE', '/v1/zones/eu-9');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: 'conflict',
      message: 'zone "eu-9" is in the failover list of API "default/fo"; change them first, or delete with ?force=true',
    });
    expect(await revision()).toBe(before);
    expect((await call(base, 'DELETE', '/v1/zones/eu-9?force=yes')).status).toBe(400);
    expect((await call(base, 'DELETE', '/v1/zones/eu-9?force=true')).status).toBe(200);
  });

  it("regression: an API's failover list may not name a zone that is not failover-eligible", async () => {
    expect((await call(base, 'PUT', '/v1/zones/eu-8', { spec: { dtcUrl: 'http://127.0.0.1:7998', failoverEligible: false } })).status).toBe(201);
    const before = await revision();
    const refused = await call(base, 'PUT', '/v1/apis/fo-8', { spec: { basePath: '/fo-8', upstream: { gateway: 'gw-1' }, failover: { enabled: true, zones: ['eu-9', 'eu-8'] } } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([
      { path: 'spec.failover.zones[0]', message: 'zone "eu-9" does not exist' },
      { path: 'spec.failover.zones[1]', message: 'zone "eu-8" is not failover-eligible (spec.failoverEligible: false)' },
    ]);
    expect(await revision()).toBe(before);
  });

  it('regression: a zone in an API\'s failover list is not made ineligible unless forced', async () => {
    expect((await call(base, 'PUT', '/v1/zones/eu-7', { spec: { dtcUrl: 'http://127.0.0.1:7997' } })).status).toBe(201);
    expect((await call(base, 'PUT', '/v1/apis/fo-7', { spec: { basePath: '/fo-7', upstream: { gateway: 'gw-1' }, failover: { enabled: true, zones: ['eu-7'] } } })).status).toBe(201);
    const before = await revision();
    const refused = await call(base, 'PUT', '/v1/zones/eu-7', { spec: { dtcUrl: 'http://127.0.0.1:7997', failoverEligible: false } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe('zone "eu-7" is in the failover list of API "default/fo-7"; change them first, or update it with ?force=true');
    expect(await revision()).toBe(before);
    expect((await call(base, 'PUT', '/v1/zones/eu-7?force=true', { spec: { dtcUrl: 'http://127.0.0.1:7997', failoverEligible: false } })).status).toBe(200);
    expect((await call(base, 'DELETE', '/v1/apis/fo-7')).status).toBe(200);
  });

  it('regression: the last member of a pool in use is not removed unless forced', async () => {
    expect((await call(base, 'PUT', '/v1/gateway-pools/shop', { spec: { members: ['gw-1', 'gw-2'] } })).status).toBe(201);
    expect((await call(base, 'PUT', '/v1/apis/shop', { spec: { basePath: '/shop', upstream: { pool: 'shop' } } })).status).toBe(201);
    expect((await call(base, 'DELETE', '/v1/gateway-pools/shop/memberships/gw-2')).status).toBe(200);
    const before = await revision();

    const lastMember = await call(base, 'DELETE', '/v1/gateway-pools/shop/memberships/gw-1');
    expect(lastMember.status).toBe(409);
    expect(lastMember.body.error.message).toBe(
      'gateway "gw-1" is the last member of gateway pool "shop" while API "shop" uses it (every request to them would be a 503); add a member first, or repeat with ?force=true',
    );
    const emptied = await call(base, 'PUT', '/v1/gateway-pools/shop', { spec: { members: [] } });
    expect(emptied.status).toBe(409);
    expect(emptied.body.error.message).toMatch(/^gateway pool "shop" would have no member while API "shop" uses it/);
    const gatewayGone = await call(base, 'DELETE', '/v1/gateways/gw-1');
    expect(gatewayGone.status).toBe(409);
    expect(gatewayGone.body.error.message).toMatch(/^gateway "gw-1" is the last member of gateway pool "shop" while API "shop" uses it/);
    expect(await revision()).toBe(before);
    expect((await call(base, 'GET', '/v1/gateway-pools/shop')).body.spec.members).toEqual(['gw-1']);

    const forced = await call(base, 'DELETE', '/v1/gateway-pools/shop/memberships/gw-1?force=true');
    expect(forced.status).toBe(200);
    expect(forced.body.spec.members).toEqual([]);
  });

  it('regression: a wait of a fraction of a millisecond is a 400, not a 500', async () => {
    const answer = await call(base, 'PUT', '/v1/apis/waits?wait=0.0000001ms', { spec: { basePath: '/waits', upstream: { gateway: 'gw-1' } } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ path: 'wait', message: '"0.0000001ms" is not a duration like 500ms, 10s or 2m, at most 5m' }]);
  });

  it('regression: POST /v1/apply takes 50,000 documents as one write', async () => {
    const items = Array.from({ length: 50_000 }, (_, i) => ({ kind: 'Gateway', metadata: { name: `bulk-${i}` }, spec: { url: `http://10.1.${i >> 8}.${i & 255}:80` } }));
    const started = performance.now();
    const applied = await call(base, 'POST', '/v1/apply', { items }, { timeoutMs: 110_000 });
    console.log(`50,000 gateways in one apply: ${Math.round(performance.now() - started)} ms`);
    expect(applied.status, applied.text.slice(0, 300)).toBe(200);
    expect(applied.body.items).toHaveLength(50_000);
    const [changes] = await controller.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM config_changes WHERE revision = ${applied.body.revision as number}`;
    expect(changes?.n).toBe(50_000);
    const tooMany = await call(base, 'POST', '/v1/apply', { items: [...items, { kind: 'Zone', metadata: { name: 'one-more' }, spec: {} }] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toBe('items: has 50001 documents; send 1 to 50000');
  }, 120_000);
});
