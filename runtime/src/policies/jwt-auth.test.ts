import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Runtime } from '../runtime.ts';
import { RuntimeHarness, type EchoUpstream } from '../testing/runtime-harness.ts';
import { host, serveWithPolicies, until } from '../testing/policy-apis.ts';

/** An identity provider: signing keys by kid, and a JWKS endpoint on a real socket that can go down. */
class Issuer {
  readonly keys = new Map<string, { privateKey: CryptoKey; jwk: JWK }>();
  published: string[] = [];
  down = false;
  fetches = 0;
  url = '';
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  async addKey(kid: string, alg: 'RS256' | 'ES256' | 'EdDSA' = 'RS256'): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    this.keys.set(kid, { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg } });
  }

  jwks(kids = this.published): { keys: JWK[] } {
    return { keys: kids.map((kid) => this.keys.get(kid)?.jwk as JWK) };
  }

  async start(h: RuntimeHarness): Promise<void> {
    const server = await h.upstream((req, res) => {
      this.fetches++;
      if (this.down) {
        res.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.jwks()));
    });
    this.url = `${server.url}/keys`;
  }

  async token(kid: string, claims: Record<string, unknown> = {}, expiresIn: string | number = '5m'): Promise<string> {
    const key = this.keys.get(kid);
    if (key === undefined) throw new Error(`no key ${kid}`);
    const alg = key.jwk.alg as string;
    return new SignJWT({ sub: 'user-1', ...claims })
      .setProtectedHeader({ alg, kid })
      .setIssuer(this.name)
      .setAudience(typeof claims.aud === 'string' ? claims.aud : 'orders')
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key.privateKey);
  }
}

function unsigned(claims: Record<string, unknown>): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', kid: 'k1' })}.${part(claims)}.`;
}

let h: RuntimeHarness;
let upstream: EchoUpstream;
let rt: Runtime;
let idp: Issuer;

beforeEach(async () => {
  h = new RuntimeHarness();
  upstream = await h.echo('gw');
  rt = await h.runtime({}, { keyFetch: { cooldownMs: 200, maxAgeMs: 600_000, timeoutMs: 1_000, maxBytes: 65_536 } });
  idp = new Issuer('https://idp-a.example/realms/x');
  await idp.addKey('k1');
  idp.published = ['k1'];
  await idp.start(h);
});

afterEach(async () => {
  await h.close();
});

function jwtPolicy(extra: Record<string, unknown> = {}): unknown {
  return { jwt: { issuers: [{ issuer: idp.name, jwksUri: idp.url, audiences: ['orders'] }], forwardClaims: { sub: 'x-consumer-id' }, ...extra } };
}

async function call(token: string | undefined, headers: Record<string, string> = {}) {
  return h.call(rt, '/orders/1', { headers: { host, ...headers, ...(token !== undefined && { authorization: `Bearer ${token}` }) } });
}

describe('the JWT policy', () => {
  it('lets a valid token through with its claim forwarded, and refuses bad ones with 401 before any upstream sees them', async () => {
    expect(serveWithPolicies(rt, upstream.url, jwtPolicy())).toMatchObject({ ok: true });
    const ok = await call(await idp.token('k1'), { 'x-consumer-id': 'forged' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).headers).toMatchObject({ 'x-consumer-id': 'user-1' });
    expect(upstream.hits).toBe(1);

    const other = new Issuer('https://evil.example');
    await other.addKey('k1');
    const refused = {
      missing: await call(undefined),
      expired: await call(await idp.token('k1', {}, Math.floor(Date.now() / 1000) - 120)),
      audience: await call(await idp.token('k1', { aud: 'billing' })),
      issuer: await call(await other.token('k1')),
      none: await call(unsigned({ iss: idp.name, aud: 'orders', sub: 'admin', exp: Math.floor(Date.now() / 1000) + 300 })),
      forged: await call(`${(await idp.token('k1')).slice(0, -4)}AAAA`),
    };
    const descriptions = Object.fromEntries(Object.entries(refused).map(([k, a]) => [k, [a.status, a.headers['www-authenticate'], JSON.parse(a.text).error.code]]));
    expect(descriptions).toEqual({
      missing: [401, 'Bearer', 'unauthenticated'],
      expired: [401, 'Bearer error="invalid_token", error_description="the token has expired"', 'unauthenticated'],
      audience: [401, 'Bearer error="invalid_token", error_description="the token is not for this audience"', 'unauthenticated'],
      issuer: [401, 'Bearer error="invalid_token", error_description="the token is from an issuer this API does not trust"', 'unauthenticated'],
      none: [401, expect.stringMatching(/^Bearer error="invalid_token", error_description="the token's algorithm is not accepted/), 'unauthenticated'],
      forged: [401, 'Bearer error="invalid_token", error_description="the signature does not verify"', 'unauthenticated'],
    });
    expect(upstream.hits).toBe(1);
  });

  it('refuses a token once it expires, though it was verified (and kept) before', async () => {
    expect(serveWithPolicies(rt, upstream.url, jwtPolicy({ clockSkewSeconds: 0 }))).toMatchObject({ ok: true });
    // Valid for at least one more second (exp is in whole seconds), so the first two calls are in time.
    const shortLived = await idp.token('k1', {}, Math.floor(Date.now() / 1000) + 2);
    expect((await call(shortLived)).status).toBe(200);
    expect((await call(shortLived)).status).toBe(200);
    let last = await call(shortLived);
    await until(async () => (last = await call(shortLived)).status !== 200);
    expect([last.status, last.headers['www-authenticate']]).toEqual([401, 'Bearer error="invalid_token", error_description="the token has expired"']);
  });

  it('answers 403 for a missing scope, and lets a request without token through when allowMissing', async () => {
    expect(serveWithPolicies(rt, upstream.url, jwtPolicy({ requiredScopes: ['orders:write'], allowMissing: true }))).toMatchObject({ ok: true });
    const readOnly = await call(await idp.token('k1', { scope: 'orders:read' }));
    expect(readOnly.status).toBe(403);
    expect(readOnly.headers['www-authenticate']).toMatch(/^Bearer error="insufficient_scope", scope="orders:write"/);
    expect((await call(await idp.token('k1', { scp: ['orders:read', 'orders:write'] }))).status).toBe(200);
    const anonymous = await call(undefined, { 'x-consumer-id': 'forged' });
    expect(anonymous.status).toBe(200);
    expect(JSON.parse(anonymous.text).headers['x-consumer-id']).toBeUndefined();
    expect(upstream.hits).toBe(2);
  });

  it('picks up a key rotated in at the issuer (a new kid) without a config change', async () => {
    expect(serveWithPolicies(rt, upstream.url, jwtPolicy())).toMatchObject({ ok: true });
    expect((await call(await idp.token('k1'))).status).toBe(200);
    await idp.addKey('k2', 'ES256');
    idp.published = ['k2'];
    const rotated = await idp.token('k2');
    await until(async () => (await call(rotated)).status === 200);
    // Refreshes on an unknown kid are rate-limited: a burst of them fetches at most a few times.
    const fetches = idp.fetches;
    const unknown = await idp.token('k2', { kid: 'x' });
    await Promise.all(Array.from({ length: 20 }, async () => call(unknown.replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'nope' })).toString('base64url')))));
    expect(idp.fetches - fetches).toBeLessThanOrEqual(2);
  });

  it('keeps verifying with cached keys while the JWKS endpoint is down, and refuses an unknown kid', async () => {
    // Keys older than 50 ms are fetched again on use: every request below tries the dead endpoint.
    const stale = await h.runtime({}, { keyFetch: { cooldownMs: 200, maxAgeMs: 50, timeoutMs: 1_000, maxBytes: 65_536 } });
    expect(serveWithPolicies(stale, upstream.url, jwtPolicy())).toMatchObject({ ok: true });
    const valid = await idp.token('k1');
    const callStale = (token: string) => h.call(stale, '/orders/1', { headers: { host, authorization: `Bearer ${token}` } });
    expect((await callStale(valid)).status).toBe(200);
    idp.down = true;
    const before = idp.fetches;
    const statuses: number[] = [];
    // A new token each time: a token verified once is not checked against the keys again for a while.
    await until(async () => {
      statuses.push((await callStale(await idp.token('k1', { jti: String(statuses.length) }))).status);
      return idp.fetches >= before + 3;
    });
    expect(new Set(statuses)).toEqual(new Set([200]));
    await idp.addKey('k3');
    const unknownKid = await callStale(await idp.token('k3'));
    expect(unknownKid.status).toBe(401);
    expect(unknownKid.headers['www-authenticate']).toContain("no key of the issuer matches the token's kid");
    expect((await callStale(await idp.token('k1', { jti: 'last' }))).status).toBe(200);
  });

  it('trusts several issuers, each with its own keys (remote and inline; RS256, ES256, EdDSA)', async () => {
    const second = new Issuer('https://idp-b.example');
    await second.addKey('b1', 'EdDSA');
    await second.addKey('b2', 'ES256');
    const policy = {
      jwt: {
        issuers: [
          { issuer: idp.name, jwksUri: idp.url, audiences: ['orders'] },
          { issuer: second.name, jwks: second.jwks(['b1', 'b2']) },
        ],
      },
    };
    expect(serveWithPolicies(rt, upstream.url, policy)).toMatchObject({ ok: true });
    expect((await call(await idp.token('k1'))).status).toBe(200);
    expect((await call(await second.token('b1'))).status).toBe(200);
    expect((await call(await second.token('b2'))).status).toBe(200);
    // A key of one issuer never verifies a token claiming the other.
    const crossed = new Issuer(idp.name);
    crossed.keys.set('b1', { ...second.keys.get('b1')!, jwk: { ...second.keys.get('b1')!.jwk } });
    expect((await call(await crossed.token('b1'))).status).toBe(401);
  });
});
