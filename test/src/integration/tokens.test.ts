import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControllerOverrides } from '@causeway/controller';
import { createOrg, expectStatus, inOrg, issueToken, putRole } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';

type Route = Parameters<NonNullable<ControllerOverrides['onAdminRoute']>>[0];

const ORG = 'tokens';

/** The same secret with one character of its random part changed: same length, same prefix, same id. */
function tampered(secret: string): string {
  const last = secret.at(-2) === 'A' ? 'B' : 'A';
  return `${secret.slice(0, -2)}${last}${secret.slice(-1)}`;
}

describe('tokens', () => {
  let db: TestDatabase;
  let admin: AdminController;
  const routes: Route[] = [];

  const as = (token: string, method: string, path: string, body?: unknown) => call(admin.base, method, path, body, { token });

  beforeAll(async () => {
    db = await createTestDatabase();
    // Many refusals from one address here: not slowed (auth-throttling.test.ts covers that).
    admin = await startAdminController(db.url, { CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND: '1000000' }, { onAdminRoute: (route) => routes.push(route) });
    await createOrg(admin.base, ORG);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  it('shows a new token\'s secret once (cw_ and at least 256 random bits), lists it without secret or digest, and it works', async () => {
    const created = await call(admin.base, 'POST', '/v1/tokens', { name: 'ci', role: 'operator', expiresInSeconds: 86_400 }, inOrg(ORG));
    expect(created.status).toBe(201);
    const secret: string = created.body.token;
    expect(secret).toMatch(/^cw_[A-Za-z0-9_-]+$/);
    const bytes = Buffer.from(secret.slice(3), 'base64url');
    // 8 bytes name the token (its id); the rest is the secret.
    expect((bytes.length - 8) * 8).toBeGreaterThanOrEqual(256);
    expect(created.body).toMatchObject({ id: `tok_${bytes.subarray(0, 8).toString('hex')}`, name: 'ci', role: 'operator', state: 'active', createdBy: 'bootstrap' });
    expect(Date.parse(created.body.expiresAt) - Date.now()).toBeGreaterThan(86_000_000);

    // Used: it acts in its org with its role.
    expect((await as(secret, 'PUT', '/v1/gateways/gw-ci', { spec: { url: 'http://127.0.0.1:7001' } })).status).toBe(201);
    expect((await call(admin.base, 'GET', '/v1/gateways/gw-ci', undefined, inOrg(ORG))).status).toBe(200);
    expect((await as(secret, 'GET', '/v1/tokens')).status).toBe(403);

    const digest = createHash('sha256').update(secret).digest();
    const texts = [
      (await call(admin.base, 'GET', '/v1/tokens', undefined, inOrg(ORG))).text,
      (await call(admin.base, 'GET', '/v1/audit-events', undefined, inOrg(ORG))).text,
    ];
    for (const text of texts) {
      for (const leak of [secret, secret.slice(3), digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')]) expect(text).not.toContain(leak);
    }
    const listed = JSON.parse(texts[0] ?? '{}').items.find((t: { id: string }) => t.id === created.body.id);
    expect(listed).toMatchObject({ name: 'ci', role: 'operator', state: 'active', createdBy: 'bootstrap' });
    expect(Object.keys(listed)).not.toEqual(expect.arrayContaining(['token']));
    expect(Object.keys(listed).filter((k) => /token|digest|secret|hash/i.test(k))).toEqual([]);
    // Secrets differ: no two of many tokens share their random part.
    const secrets = await Promise.all(Array.from({ length: 20 }, async (_x, i) => (await issueToken(admin.base, ORG, `many-${i}`, 'viewer')).secret.slice(14)));
    expect(new Set(secrets).size).toBe(20);
  });

  it('refuses a wrong token of the right length and format, with or without a real token\'s id', async () => {
    const token = await issueToken(admin.base, ORG, 'real', 'viewer');
    expect((await as(token.secret, 'GET', '/v1/apis')).status).toBe(200);
    const sameId = tampered(token.secret);
    const random = `cw_${Buffer.alloc(40, 7).toString('base64url')}`;
    for (const wrong of [sameId, random, `cw_${'A'.repeat(token.secret.length - 3)}`, `xx_${token.secret.slice(3)}`]) {
      expect(wrong).toHaveLength(token.secret.length);
      const answer = await as(wrong, 'GET', '/v1/apis');
      expect(answer.status, wrong).toBe(401);
      expect(answer.body.error.code).toBe('unauthenticated');
    }
  });

  it('refuses a token once revoked, and refuses an expired one without any change being logged', async () => {
    const revoked = await issueToken(admin.base, ORG, 'short-lived', 'viewer');
    expect((await as(revoked.secret, 'GET', '/v1/apis')).status).toBe(200);
    const answer = await call(admin.base, 'DELETE', `/v1/tokens/${revoked.id}`, undefined, inOrg(ORG));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: revoked.id, state: 'revoked' });
    expect((await as(revoked.secret, 'GET', '/v1/apis')).status).toBe(401);
    expect((await call(admin.base, 'DELETE', `/v1/tokens/${revoked.id}`, undefined, inOrg(ORG))).status).toBe(404);

    // Expiry is a time each replica compares with its own clock on every request: moving
    // this process's clock past expiresAt is what waiting would do, without waiting.
    const expiring = await issueToken(admin.base, ORG, 'expiring', 'viewer', 60);
    expect((await as(expiring.secret, 'GET', '/v1/apis')).status).toBe(200);
    const revision = await admin.revision();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 59_000 });
    expect((await as(expiring.secret, 'GET', '/v1/apis')).status).toBe(200);
    vi.setSystemTime(Date.now() + 2_000);
    const expired = await as(expiring.secret, 'GET', '/v1/apis');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('unauthenticated');
    const listed = await call(admin.base, 'GET', '/v1/tokens', undefined, inOrg(ORG));
    expect(listed.body.items.find((t: { id: string }) => t.id === expiring.id).state).toBe('expired');
    expect(await admin.revision()).toBe(revision);
    vi.useRealTimers();
    // A lifetime under a minute is refused: a token that expires before it is used is a mistake.
    expect((await call(admin.base, 'POST', '/v1/tokens', { name: 'too-short', role: 'viewer', expiresInSeconds: 59 }, inOrg(ORG))).status).toBe(400);
  });

  it('acts in its own org only, and hands out no more than it holds', async () => {
    await createOrg(admin.base, 'other');
    const token = await issueToken(admin.base, ORG, 'own-org', 'admin');
    for (const org of ['other', 'default']) {
      const answer = await call(admin.base, 'GET', '/v1/apis', undefined, { token: token.secret, headers: { 'causeway-org': org } });
      expect(answer.status).toBe(403);
    }
    expect((await as(token.secret, 'PUT', '/v1/gateways/gw-own', { spec: { url: 'http://127.0.0.1:7002' } })).status).toBe(201);
    expect((await call(admin.base, 'GET', '/v1/gateways/gw-own', undefined, inOrg('other'))).status).toBe(404);
    expect((await call(admin.base, 'GET', '/v1/gateways/gw-own')).status).toBe(404);
    // Managing orgs is for the bootstrap token alone, even for an org's admin.
    expect((await as(token.secret, 'GET', '/v1/orgs')).status).toBe(403);
    expect((await as(token.secret, 'POST', '/v1/orgs', { name: 'mine' })).status).toBe(403);

    await putRole(admin.base, ORG, 'token-maker', [{ subject: 'tokens', actions: ['read', 'create'] }, { subject: 'apis', actions: ['read'] }]);
    const maker = await issueToken(admin.base, ORG, 'maker', 'token-maker');
    const escalation = await as(maker.secret, 'POST', '/v1/tokens', { name: 'stronger', role: 'admin' });
    expect(escalation.status).toBe(403);
    expect(escalation.body.error.message).toContain('which the token does not hold');
    expect((await as(maker.secret, 'POST', '/v1/tokens', { name: 'weaker', role: 'token-maker' })).status).toBe(201);
  });

  describe('gateway heartbeat tokens', () => {
    it('heartbeat their own gateway only: 200 for it, 403 for another gateway and for every other route', async () => {
      const boot = async (path: string, body: unknown) => expectStatus(await call(admin.base, 'PUT', path, body, inOrg(ORG)), `PUT ${path}`, 201);
      await boot('/v1/gateways/gw-beat', { spec: { url: 'http://127.0.0.1:7003' } });
      await boot('/v1/gateways/gw-other', { spec: { url: 'http://127.0.0.1:7004' } });
      const created = await call(admin.base, 'POST', '/v1/gateways/gw-beat/tokens', {}, inOrg(ORG));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ gateway: 'gw-beat', role: null });
      const secret: string = created.body.token;

      const beat = await as(secret, 'POST', '/v1/gateways/gw-beat/heartbeat', {});
      expect(beat.status, beat.text).toBe(200);
      expect(beat.body.gateway).toBe('gw-beat');
      expect((await as(secret, 'POST', '/v1/gateways/gw-other/heartbeat', {})).status).toBe(403);
      // The heartbeat is recorded for the gateway, as its own token's doing.
      const health = await call(admin.base, 'GET', '/v1/gateways/gw-beat', undefined, inOrg(ORG));
      expect(health.body.status.lastHeartbeatAt).not.toBeNull();

      const revision = await admin.revision();
      const failures: string[] = [];
      for (const route of routes.filter((r) => !r.public && !(r.method === 'POST' && r.url === '/v1/gateways/:name/heartbeat'))) {
        const path = route.url.replace(':plural', 'gateways').replace(':name', 'gw-beat').replace(/:[A-Za-z]+/g, 'x');
        // A document the token could otherwise write: the body must not be what refuses it.
        const body = route.method === 'POST' && route.url === '/v1/apply' ? { items: [{ kind: 'Gateway', metadata: { name: 'gw-beat' }, spec: { url: 'http://127.0.0.1:7005' } }] } : undefined;
        const answer = await as(secret, route.method, path, body ?? (['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined));
        if (answer.status !== 403) failures.push(`${route.method} ${path}: ${answer.status} ${answer.text.slice(0, 160)}`);
      }
      expect(failures).toEqual([]);
      // Refused before its body is read: an empty apply is 403, not 400.
      expect((await as(secret, 'POST', '/v1/apply', {})).status).toBe(403);
      expect(await admin.revision()).toBe(revision);
    });
  });
});
