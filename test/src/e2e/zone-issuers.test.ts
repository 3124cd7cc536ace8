import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../harness/access.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess, type RuntimeProcess, type UpstreamProcess } from '../harness/processes.ts';

/** An identity provider of one zone: an ES256 key and the inline key set a Zone lists. */
function identityProvider(issuer: string): { issuer: string; jwks: { keys: object[] }; token(sub: string): string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `${issuer.split('/').pop() ?? 'k'}-1`;
  return {
    issuer,
    jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] },
    token: (sub) => signed(privateKey, kid, { iss: issuer, sub, exp: Math.floor(Date.now() / 1000) + 600 }),
  };
}

function signed(key: KeyObject, kid: string, claims: object): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'ES256', typ: 'JWT', kid })}.${part(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/**
 * DTC issuers, with every part a process: a request that fails over from zone A into zone
 * B carries a token of A's identity provider, which B accepts for an API that fails over
 * (the union of its failover zones' issuers), and refuses for one that does not.
 */
describe('issuers of zones', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let a1: UpstreamProcess;
  let runtimeA: RuntimeProcess;
  let runtimeB: RuntimeProcess;
  const idpA = identityProvider('https://idp.zone-a.example/realms/x');
  const idpB = identityProvider('https://idp.zone-b.example/realms/x');
  const bearer = (token: string) => ({ token: null, headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url });
    const admin = controller.adminUrl;
    const b1 = await stack.upstream('zone-b-1');
    a1 = await stack.upstream('zone-a-1');
    const checks = { path: '/', intervalMs: 500, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 1 };
    expectStatus(await call(admin, 'PUT', '/v1/gateways/gw-a', { spec: { url: a1.url, zone: 'zone-a', healthCheck: checks } }), 'gateway', 201);
    expectStatus(await call(admin, 'PUT', '/v1/gateways/gw-b', { spec: { url: b1.url, zone: 'zone-b', healthCheck: checks } }), 'gateway', 201);
    expectStatus(await call(admin, 'PUT', '/v1/gateway-pools/pool', { spec: { members: ['gw-a', 'gw-b'] } }), 'pool', 201);
    [runtimeA, runtimeB] = await Promise.all([
      stack.runtime({ controllers: [controller.xdsAddress], zone: 'zone-a', nodeId: 'runtime-a' }),
      stack.runtime({ controllers: [controller.xdsAddress], zone: 'zone-b', nodeId: 'runtime-b' }),
    ]);
    const zone = (dtcUrl: string, priority: number, idp: typeof idpA) => ({ spec: { dtcUrl, failoverPriority: priority, issuers: [{ issuer: idp.issuer, jwks: idp.jwks }] } });
    expectStatus(await call(admin, 'PUT', '/v1/zones/zone-a', zone(runtimeA.proxyUrl, 1, idpA)), 'zone', 201);
    expectStatus(await call(admin, 'PUT', '/v1/zones/zone-b', zone(runtimeB.proxyUrl, 2, idpB)), 'zone', 201);
    // Neither API lists issuers: the zones' are trusted.
    const policies = { jwt: {} };
    expectStatus(await call(admin, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'pool' }, failover: { enabled: true }, policies } }), 'api', 201);
    expectStatus(await call(admin, 'PUT', '/v1/apis/local', { spec: { basePath: '/local', upstream: { pool: 'pool' }, policies } }), 'api', 201);
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  it("zone B accepts zone A's token for an API that fails over, and the failed-over request succeeds", async () => {
    const tokenA = idpA.token('alice');
    await eventually(async () => {
      const answer = await call(runtimeA.proxyUrl, 'GET', '/orders/1', undefined, bearer(tokenA));
      expect(answer.status).toBe(200);
      expect(answer.body.upstream).toBe('zone-a-1');
    }, { message: () => stack.tails() });
    // Zone B trusts A's issuer for this API even when asked directly, and its own.
    expect((await call(runtimeB.proxyUrl, 'GET', '/orders/1', undefined, bearer(tokenA))).status).toBe(200);
    expect((await call(runtimeB.proxyUrl, 'GET', '/orders/1', undefined, bearer(idpB.token('bob')))).status).toBe(200);

    await a1.kill();
    await eventually(async () => {
      const answer = await call(runtimeA.proxyUrl, 'GET', '/orders/1', undefined, bearer(tokenA));
      expect(answer.status).toBe(200);
      expect(answer.body.upstream).toBe('zone-b-1');
    }, { timeoutMs: 10_000, message: () => stack.tails() });
    // A token of neither zone's issuer is refused on both sides.
    const stranger = identityProvider('https://idp.elsewhere.example').token('mallory');
    expect((await call(runtimeA.proxyUrl, 'GET', '/orders/1', undefined, bearer(stranger))).status).toBe(401);
  });

  it("zone B refuses zone A's token for an API without failover, and takes its own", async () => {
    const refused = await call(runtimeB.proxyUrl, 'GET', '/local/1', undefined, bearer(idpA.token('alice')));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect((await call(runtimeB.proxyUrl, 'GET', '/local/1', undefined, bearer(idpB.token('bob')))).status).toBe(200);
  });

  it('a zone may list issuers without a DTC URL, or a DTC URL without issuers', async () => {
    expectStatus(await call(controller.adminUrl, 'PUT', '/v1/zones/zone-c', { spec: { issuers: [{ issuer: 'https://idp.zone-c.example', jwksUri: 'https://idp.zone-c.example/certs' }] } }), 'issuers only', 201);
    expectStatus(await call(controller.adminUrl, 'PUT', '/v1/zones/zone-d', { spec: { dtcUrl: 'http://127.0.0.1:1' } }), 'DTC URL only', 201);
    const zoneC = expectStatus(await call(controller.adminUrl, 'GET', '/v1/zones/zone-c'), 'read', 200);
    expect(zoneC.body.spec).toMatchObject({ dtcUrl: '', issuers: [{ issuer: 'https://idp.zone-c.example', jwksUri: 'https://idp.zone-c.example/certs', audiences: [] }] });
    const bad = await call(controller.adminUrl, 'PUT', '/v1/zones/zone-e', { spec: { issuers: [{ issuer: 'https://x', jwksUri: 'ftp://x' }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: 'spec.issuers[0].jwksUri', message: '"ftp://x" is not an http(s) URL without credentials or fragment' }]);
    // Both runtimes took the new zones (no NACK): zone B still serves its own tokens.
    expect((await call(runtimeB.proxyUrl, 'GET', '/local/1', undefined, bearer(idpB.token('bob')))).status).toBe(200);
  });
});
