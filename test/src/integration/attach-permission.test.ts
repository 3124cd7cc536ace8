import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, expectStatus, inOrg, issueToken, putRole } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call, type HttpResult } from '../harness/http.ts';

const ORG = 'shop';

interface Permission {
  readonly subject: string;
  readonly actions: readonly string[];
}

/** An API document on a pool (or a gateway), with a request timeout. */
function apiOn(upstream: { pool: string } | { gateway: string }, requestMs = 10_000) {
  return { spec: { basePath: '/orders', upstream, timeouts: { requestMs } } };
}

describe('attach: naming a pool or gateway as an API\'s upstream needs its own permission', () => {
  let db: TestDatabase;
  let admin: AdminController;
  /** Operator-like roles: without `attach` on pools and gateways, and with it. */
  let without: string;
  let withAttach: string;

  const as = (token: string, method: string, path: string, body?: unknown): Promise<HttpResult> => call(admin.base, method, path, body, { token });

  function refusedFor(answer: HttpResult, permission: string): void {
    expect(answer.status, answer.text).toBe(403);
    expect(answer.body.error.code).toBe('permission_denied');
    expect(answer.body.error.message).toContain(`needs ${permission}`);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    await createOrg(admin.base, ORG);
    const boot = async (method: string, path: string, body: unknown) => expectStatus(await call(admin.base, method, path, body, inOrg(ORG)), `${method} ${path}`, 201);
    for (const n of [1, 2]) {
      await boot('PUT', `/v1/gateways/gw-${n}`, { spec: { url: `http://127.0.0.1:710${n}` } });
      await boot('PUT', `/v1/gateway-pools/pool-${n}`, { spec: { members: [`gw-${n}`] } });
    }
    const operator: Permission[] = (await call(admin.base, 'GET', '/v1/roles/operator', undefined, inOrg(ORG))).body.spec.permissions;
    const noAttach = operator.map((p) => ({ ...p, actions: p.actions.filter((a) => a !== 'attach') }));
    expect(noAttach).not.toEqual(operator);
    await putRole(admin.base, ORG, 'deployer', noAttach);
    await putRole(admin.base, ORG, 'deployer-attach', noAttach.map((p) => (p.subject === 'gateway-pools' ? { ...p, actions: [...p.actions, 'attach'] } : p)));
    without = (await issueToken(admin.base, ORG, 'ci', 'deployer')).secret;
    withAttach = (await issueToken(admin.base, ORG, 'ci-attach', 'deployer-attach')).secret;
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('refuses to create an API on a pool without gateway-pools:attach (PUT and apply), and allows it with', async () => {
    const revision = await admin.revision();
    const put = await as(without, 'PUT', '/v1/apis/orders', apiOn({ pool: 'pool-1' }));
    refusedFor(put, 'gateway-pools:attach');
    expect(put.body.error.message).toContain('gateway pool "pool-1"');
    refusedFor(await as(without, 'POST', '/v1/apply', { items: [{ kind: 'Api', metadata: { name: 'orders' }, ...apiOn({ pool: 'pool-1' }) }] }), 'gateway-pools:attach');
    // A gateway named directly needs gateways:attach, which neither role holds.
    refusedFor(await as(withAttach, 'PUT', '/v1/apis/orders', apiOn({ gateway: 'gw-1' })), 'gateways:attach');
    expect(await admin.revision()).toBe(revision);
    expect((await as(without, 'GET', '/v1/apis/orders')).status).toBe(404);

    expect((await as(withAttach, 'PUT', '/v1/apis/orders', apiOn({ pool: 'pool-1' }))).status).toBe(201);
  });

  it('changes an API\'s timeouts without attach, but moving it to another pool needs it', async () => {
    const changed = await as(without, 'PUT', '/v1/apis/orders', apiOn({ pool: 'pool-1' }, 20_000));
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.spec.timeouts.requestMs).toBe(20_000);
    // The same through apply: an unchanged upstream is no new attach.
    const applied = await as(without, 'POST', '/v1/apply', { items: [{ kind: 'Api', metadata: { name: 'orders' }, ...apiOn({ pool: 'pool-1' }, 25_000) }] });
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.items[0].result).toBe('updated');

    const revision = await admin.revision();
    refusedFor(await as(without, 'PUT', '/v1/apis/orders', apiOn({ pool: 'pool-2' }, 25_000)), 'gateway-pools:attach');
    refusedFor(await as(without, 'POST', '/v1/apply', { items: [{ kind: 'Api', metadata: { name: 'orders' }, ...apiOn({ pool: 'pool-2' }, 25_000) }] }), 'gateway-pools:attach');
    expect(await admin.revision()).toBe(revision);
    expect((await as(without, 'GET', '/v1/apis/orders')).body.spec.upstream).toEqual({ pool: 'pool-1' });

    const moved = await as(withAttach, 'PUT', '/v1/apis/orders', apiOn({ pool: 'pool-2' }, 25_000));
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.spec.upstream).toEqual({ pool: 'pool-2' });
  });

  it('a rollback that moves the API back to another pool needs attach too', async () => {
    const revision = await admin.revision();
    refusedFor(await as(without, 'POST', '/v1/apis/orders/rollback', {}), 'gateway-pools:attach');
    expect(await admin.revision()).toBe(revision);
    const rolledBack = await as(withAttach, 'POST', '/v1/apis/orders/rollback', {});
    expect(rolledBack.status, rolledBack.text).toBe(200);
    expect(rolledBack.body.spec.upstream).toEqual({ pool: 'pool-1' });
  });
});
