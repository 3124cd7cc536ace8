import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, expectStatus, inOrg, issueToken, type IssuedToken } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call, type HttpResult } from '../harness/http.ts';

const ORG = 'audited';

interface Event {
  readonly id: number;
  readonly at: string;
  readonly org: string;
  readonly actor: { kind: string; id: string; name: string };
  readonly action: string;
  readonly outcome: string;
  readonly resource: { kind: string; name: string };
  readonly revision: number | null;
  readonly requestId: string;
  readonly controller: string;
  readonly source: string;
  readonly changes: { field: string; before: unknown; after: unknown }[];
}

describe('audit log', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let actor: IssuedToken;
  let viewer: IssuedToken;
  let serial = 0;

  /** Every event of `org` (bootstrap's view), newest first. */
  async function events(org: string, query = ''): Promise<Event[]> {
    const answer = expectStatus(await call(admin.base, 'GET', `/v1/audit-events?limit=1000${query}`, undefined, inOrg(org)), 'GET /v1/audit-events', 200);
    return answer.body.items;
  }

  /** Runs a request with its own request id and returns it with the events it left in `org`. */
  async function audited(org: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ answer: HttpResult; requestId: string; left: Event[] }> {
    const newest = (await events(org))[0]?.id ?? 0;
    const requestId = `audit-${++serial}`;
    const headers = { 'x-request-id': requestId, ...(token === undefined ? inOrg(org).headers : {}) };
    const answer = await call(admin.base, method, path, body, { ...(token === undefined ? {} : { token }), headers });
    const left = (await events(org)).filter((e) => e.id > newest);
    return { answer, requestId, left };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url, { CAUSEWAY_CONTROLLER_ID: 'audit-replica' });
    await createOrg(admin.base, ORG);
    actor = await issueToken(admin.base, ORG, 'deployer', 'admin');
    viewer = await issueToken(admin.base, ORG, 'looker', 'viewer');
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('writes one event per mutation, naming the actor, the action, the resource, the revision and the fields changed', async () => {
    const byToken = { kind: 'token', id: actor.id, name: 'deployer' };
    const bootstrap = { kind: 'bootstrap', id: 'bootstrap', name: 'bootstrap' };
    const gw = { url: 'http://127.0.0.1:7001' };
    const api = (requestMs: number) => ({ spec: { basePath: '/orders', upstream: { pool: 'shop' }, timeouts: { requestMs } } });
    let tokenId = '';
    const steps: { bootstrap?: boolean; method: string; path: () => string; body?: unknown; action: string; resource: string; changed?: string }[] = [
      { method: 'PUT', path: () => '/v1/gateways/gw-1', body: { spec: gw }, action: 'gateway.create', resource: 'gateway/gw-1', changed: 'spec.url' },
      { method: 'PUT', path: () => '/v1/gateways/gw-1', body: { spec: { url: 'http://127.0.0.1:7002' } }, action: 'gateway.update', resource: 'gateway/gw-1', changed: 'spec.url' },
      { method: 'PUT', path: () => '/v1/gateways/gw-2', body: { spec: gw }, action: 'gateway.create', resource: 'gateway/gw-2' },
      { method: 'POST', path: () => '/v1/gateway-pools', body: { metadata: { name: 'shop' }, spec: { members: ['gw-1'] } }, action: 'gateway-pool.create', resource: 'gateway-pool/shop', changed: 'spec.members' },
      { method: 'PATCH', path: () => '/v1/gateway-pools/shop', body: { spec: { description: 'the shop' } }, action: 'gateway-pool.update', resource: 'gateway-pool/shop', changed: 'spec.description' },
      { method: 'POST', path: () => '/v1/gateway-pools/shop/memberships', body: { gateway: 'gw-2' }, action: 'gateway-pool.add-member', resource: 'gateway-pool/shop', changed: 'spec.members' },
      { method: 'DELETE', path: () => '/v1/gateway-pools/shop/memberships/gw-2', action: 'gateway-pool.remove-member', resource: 'gateway-pool/shop', changed: 'spec.members' },
      { method: 'PUT', path: () => '/v1/apis/orders', body: api(10_000), action: 'api.create', resource: 'api/orders', changed: 'spec.basePath' },
      { method: 'PUT', path: () => '/v1/apis/orders', body: api(20_000), action: 'api.update', resource: 'api/orders', changed: 'spec.timeouts.requestMs' },
      { method: 'POST', path: () => '/v1/apis/orders/rollback', body: {}, action: 'api.rollback', resource: 'api/orders', changed: 'spec.timeouts.requestMs' },
      { method: 'DELETE', path: () => '/v1/apis/orders', action: 'api.delete', resource: 'api/orders', changed: 'spec.basePath' },
      { method: 'DELETE', path: () => '/v1/gateway-pools/shop', action: 'gateway-pool.delete', resource: 'gateway-pool/shop' },
      { method: 'DELETE', path: () => '/v1/gateways/gw-2', action: 'gateway.delete', resource: 'gateway/gw-2', changed: 'spec.url' },
      { method: 'PUT', path: () => '/v1/roles/ops', body: { permissions: [{ subject: 'apis', actions: ['read'] }] }, action: 'role.create', resource: 'role/ops', changed: 'spec.permissions' },
      { method: 'PUT', path: () => '/v1/roles/ops', body: { permissions: [{ subject: 'apis', actions: ['read', 'edit'] }] }, action: 'role.update', resource: 'role/ops', changed: 'spec.permissions' },
      { method: 'POST', path: () => '/v1/tokens', body: { name: 'robot', role: 'ops' }, action: 'token.create', resource: 'token/robot', changed: 'spec.role' },
      { method: 'DELETE', path: () => `/v1/tokens/${tokenId}`, action: 'token.revoke', resource: 'token/robot', changed: 'status.revokedAt' },
      { method: 'DELETE', path: () => '/v1/roles/ops', action: 'role.delete', resource: 'role/ops', changed: 'spec.permissions' },
      // Zones and orgs are the bootstrap token's (system administrators').
      { bootstrap: true, method: 'PUT', path: () => '/v1/zones/eu-1', body: { spec: {} }, action: 'zone.create', resource: 'zone/eu-1' },
      { bootstrap: true, method: 'PUT', path: () => '/v1/zones/eu-1', body: { spec: { dtcUrl: 'http://127.0.0.1:7999' } }, action: 'zone.update', resource: 'zone/eu-1', changed: 'spec.dtcUrl' },
      { bootstrap: true, method: 'DELETE', path: () => '/v1/zones/eu-1', action: 'zone.delete', resource: 'zone/eu-1' },
    ];
    for (const step of steps) {
      const { answer, requestId, left } = await audited(ORG, step.bootstrap === true ? undefined : actor.secret, step.method, step.path(), step.body);
      const what = `${step.method} ${step.path()}`;
      expect(answer.status, `${what}: ${answer.text}`).toBeLessThan(300);
      if (step.action === 'token.create') tokenId = answer.body.id;
      const revision = await admin.revision();
      expect(left, what).toHaveLength(1);
      const [kind, name] = step.resource.split('/');
      expect(left[0], what).toMatchObject({
        org: ORG,
        actor: step.bootstrap === true ? bootstrap : byToken,
        action: step.action,
        outcome: 'ok',
        resource: { kind, name },
        revision,
        requestId,
        controller: 'audit-replica',
        source: '127.0.0.1',
      });
      if (step.changed !== undefined) expect(left[0]?.changes.map((c) => c.field), what).toContain(step.changed);
    }
    // A change's fields before and after: the update of gw-1.
    const update = (await events(ORG, '&action=gateway.update'))[0];
    expect(update?.changes).toEqual([{ field: 'spec.url', before: 'http://127.0.0.1:7001', after: 'http://127.0.0.1:7002' }]);
  });

  it('records creating and deleting an org in the log of the system administrator\'s org, readable after the org is gone', async () => {
    const created = await audited('default', undefined, 'POST', '/v1/orgs', { name: 'short-lived' });
    expect(created.answer.status).toBe(201);
    expect(created.left).toEqual([expect.objectContaining({ action: 'org.create', outcome: 'ok', resource: { kind: 'org', name: 'short-lived' }, actor: expect.objectContaining({ kind: 'bootstrap' }), requestId: created.requestId })]);
    const deleted = await audited('default', undefined, 'DELETE', '/v1/orgs/short-lived');
    expect(deleted.answer.status).toBe(200);
    expect(deleted.left).toEqual([expect.objectContaining({ action: 'org.delete', outcome: 'ok', resource: { kind: 'org', name: 'short-lived' }, requestId: deleted.requestId })]);
  });

  it('leaves no ok event for a refused write (400, 403, 404, 409, 412), and one access.denied event for a denial', async () => {
    expectStatus(await call(admin.base, 'PUT', '/v1/gateways/gw-used', { spec: { url: 'http://127.0.0.1:7003' } }, { token: actor.secret }), 'gw-used', 201);
    expectStatus(await call(admin.base, 'PUT', '/v1/apis/users', { spec: { basePath: '/users', upstream: { gateway: 'gw-used' } } }, { token: actor.secret }), 'users', 201);
    const refusals: [IssuedToken, string, string, unknown, Record<string, string>, number][] = [
      [actor, 'PUT', '/v1/gateways/gw-bad', { spec: { url: 'not a url' } }, {}, 400],
      [viewer, 'PUT', '/v1/gateways/gw-new', { spec: { url: 'http://127.0.0.1:7004' } }, {}, 403],
      [actor, 'DELETE', '/v1/gateways/gw-missing', undefined, {}, 404],
      [actor, 'PUT', '/v1/apis/other', { spec: { basePath: '/other', upstream: { pool: 'no-such-pool' } } }, {}, 404],
      [actor, 'DELETE', '/v1/gateways/gw-used', undefined, {}, 409],
      [actor, 'PUT', '/v1/gateways/gw-used', { spec: { url: 'http://127.0.0.1:7005' } }, { 'if-match': '"1"' }, 412],
      [actor, 'POST', '/v1/tokens', { name: 'deployer', role: 'viewer' }, {}, 409],
    ];
    const revision = await admin.revision();
    const newest = (await events(ORG))[0]?.id ?? 0;
    for (const [token, method, path, body, headers, status] of refusals) {
      const answer = await call(admin.base, method, path, body, { token: token.secret, headers });
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBe(status);
    }
    expect(await admin.revision()).toBe(revision);
    // A denial's event is written beside the answer, not before it.
    const left = await eventually(async () => {
      const found = (await events(ORG)).filter((e) => e.id > newest);
      if (found.length === 0) throw new Error('no access.denied event yet');
      return found;
    });
    expect(left.filter((e) => e.outcome === 'ok')).toEqual([]);
    expect(left).toEqual([expect.objectContaining({ action: 'access.denied', outcome: 'denied', revision: null, actor: expect.objectContaining({ id: viewer.id, name: 'looker' }) })]);
    expect(JSON.stringify(left[0]?.changes)).toContain('needs gateways:create');
  });

  it('filters by resource, action, actor and time, and pages newest first with no duplicate or gap', async () => {
    const items = Array.from({ length: 7 }, (_x, i) => ({ kind: 'Gateway', metadata: { name: `gw-page-${i}` }, spec: { url: `http://127.0.0.1:71${i}0` } }));
    const before = new Date(Date.now() - 1).toISOString();
    // One apply: seven events of one transaction, sharing their time.
    expectStatus(await call(admin.base, 'POST', '/v1/apply', { items }, { token: actor.secret }), 'apply', 200);
    for (let i = 0; i < 6; i++) {
      expectStatus(await call(admin.base, 'PUT', `/v1/gateways/gw-page-${i % 2}`, { spec: { url: `http://127.0.0.1:72${i}0` } }, i % 2 === 0 ? inOrg(ORG) : { token: actor.secret }), 'update', 200);
    }
    const all = await events(ORG);
    const ids = all.map((e) => e.id);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);

    const byResource = await events(ORG, '&resource=gateway/gw-page-0');
    expect(byResource.map((e) => e.action)).toEqual(['gateway.update', 'gateway.update', 'gateway.update', 'gateway.create']);
    expect((await events(ORG, '&resource=gateway')).every((e) => e.resource.kind === 'gateway')).toBe(true);
    expect((await events(ORG, '&resource=gateway')).length).toBe(all.filter((e) => e.resource.kind === 'gateway').length);
    expect((await events(ORG, '&action=gateway.update')).length).toBe(all.filter((e) => e.action === 'gateway.update').length);
    const byName = await events(ORG, '&actor=deployer&resource=gateway');
    const byId = await events(ORG, `&actor=${actor.id}&resource=gateway`);
    expect(byName).toEqual(byId);
    expect(byName.every((e) => e.actor.id === actor.id)).toBe(true);
    expect((await events(ORG, '&actor=bootstrap&resource=gateway')).map((e) => e.resource.name)).toEqual(['gw-page-0', 'gw-page-0', 'gw-page-0']);
    expect((await events(ORG, '&since=1h')).map((e) => e.id)).toEqual(ids);
    expect((await events(ORG, `&since=${encodeURIComponent(before)}`)).length).toBe(13);
    expect(await events(ORG, `&until=${encodeURIComponent(before)}&since=${encodeURIComponent(before)}`)).toEqual([]);
    expect((await events(ORG, `&until=${encodeURIComponent(before)}`)).map((e) => e.id)).toEqual(ids.slice(13));
    expect(await events(ORG, `&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    for (const bad of ['since=yesterday', 'until=12', 'limit=0', 'limit=1001', 'cursor=nonsense']) {
      expect((await call(admin.base, 'GET', `/v1/audit-events?${bad}`, undefined, inOrg(ORG))).status, bad).toBe(400);
    }

    for (const limit of [1, 2, 3, 5]) {
      const paged: number[] = [];
      let cursor: string | null = '';
      for (let page = 0; cursor !== null && page < 200; page++) {
        const answer = await call(admin.base, 'GET', `/v1/audit-events?limit=${limit}${cursor === '' ? '' : `&cursor=${cursor}`}`, undefined, inOrg(ORG));
        expect(answer.status).toBe(200);
        expect(answer.body.items.length).toBeLessThanOrEqual(limit);
        paged.push(...answer.body.items.map((e: Event) => e.id));
        cursor = answer.body.nextCursor;
      }
      expect(paged, `pages of ${limit}`).toEqual(ids);
    }
  });
});
