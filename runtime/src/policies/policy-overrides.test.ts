import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Runtime } from '../runtime.ts';
import { api, response } from '../testing/resources.ts';
import { RuntimeHarness, type EchoUpstream } from '../testing/runtime-harness.ts';
import { host, policies, serveWithPolicies } from '../testing/policy-apis.ts';

let h: RuntimeHarness;
let upstream: EchoUpstream;
let rt: Runtime;

beforeEach(async () => {
  h = new RuntimeHarness();
  upstream = await h.echo('gw');
  rt = await h.runtime();
});

afterEach(async () => {
  await h.close();
});

async function status(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<number> {
  return (await h.call(rt, path, { method, headers: { host, ...headers } })).status;
}

/** Sends a request line as written (no client-side normalisation of the path), and reads the status. */
async function rawStatus(path: string): Promise<number> {
  const socket = new Socket();
  const { host: address, port } = rt.proxyAddress;
  await new Promise<void>((resolve) => socket.connect(port, address, resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  return Number(text.slice(9, 12));
}

/** Denies this machine's address on POSTs under /orders/admin; everything else is open. */
const adminLocked = { overrides: [{ match: { methods: ['POST'], pathPrefix: '/admin' }, policies: { ipAccess: { deny: ['127.0.0.0/8', '::1'] } } }] };

describe('policy overrides', () => {
  it('apply to the methods and whole path segments they name, under the base path', async () => {
    expect(serveWithPolicies(rt, upstream.url, adminLocked)).toMatchObject({ ok: true });
    expect(rt.proxyAddress.host).toBe('127.0.0.1');
    expect(await status('/orders/admin', 'POST')).toBe(403);
    expect(await status('/orders/admin/users/7', 'POST')).toBe(403);
    expect(await status('/orders/admin', 'GET')).toBe(200);
    expect(await status('/orders/administrator', 'POST')).toBe(200);
    expect(await status('/orders/x/admin', 'POST')).toBe(200);
    expect(upstream.hits).toBe(3);
  });

  it('cannot be bypassed by an empty segment, an escape, a trailing slash, an encoded slash, path parameters or a dot segment', async () => {
    expect(serveWithPolicies(rt, upstream.url, adminLocked)).toMatchObject({ ok: true });
    const parameters = ['/orders/admin;jsessionid=1', '/orders/admin;x/users', '/orders/;x/admin'];
    for (const path of ['/orders//admin', '/orders/%61dmin', '/orders/admin/', '/orders/admin%2Fusers', '/orders/admin%2fusers', ...parameters]) {
      expect(await status(path, 'POST'), path).toBe(403);
    }
    expect(await rawStatus('/orders/public/../admin')).toBe(400);
    expect(await rawStatus('/orders/public/%2e%2e/admin')).toBe(400);
    expect(upstream.hits).toBe(0);
  });

  it('replace each policy they name, keep the others, and the first match wins', async () => {
    const spec = {
      responseHeaders: { set: { 'x-api': 'orders' } },
      rateLimit: { requests: 100, per: 'hour', by: 'api' },
      overrides: [
        { match: { pathPrefix: '/bulk' }, policies: { rateLimit: { requests: 1, per: 'hour', by: 'api' } } },
        { match: { pathPrefix: '/bulk' }, policies: { ipAccess: { deny: ['127.0.0.0/8'] } } },
      ],
    };
    expect(serveWithPolicies(rt, upstream.url, spec)).toMatchObject({ ok: true });
    const first = await h.call(rt, '/orders/bulk', { headers: { host } });
    expect([first.status, first.headers['x-api'], first.headers['ratelimit-limit']]).toEqual([200, 'orders', '1']);
    expect(await status('/orders/bulk')).toBe(429);
    // The override's bucket is its own: the API's budget is untouched by it, and the reverse.
    const other = await h.call(rt, '/orders/1', { headers: { host } });
    expect([other.status, other.headers['ratelimit-limit'], other.headers['ratelimit-remaining']]).toEqual([200, '100', '99']);
  });

  it("share the API's rate-limit buckets when they do not name a rate limit", async () => {
    const spec = { rateLimit: { requests: 2, per: 'hour', by: 'api' }, overrides: [{ match: { pathPrefix: '/admin' }, policies: { responseHeaders: { set: { 'x-admin': '1' } } } }] };
    expect(serveWithPolicies(rt, upstream.url, spec)).toMatchObject({ ok: true });
    expect(await status('/orders/admin')).toBe(200);
    expect(await status('/orders/1')).toBe(200);
    expect(await status('/orders/admin')).toBe(429);
  });

  it("give a JWT policy to part of an API: the rest stays open, and the override's requests need a token", async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const jwt = { issuers: [{ issuer: 'https://idp.example', jwks: { keys: [jwk] } }] };
    const spec = { rateLimit: { requests: 100, per: 'hour', by: 'api' }, overrides: [{ match: { pathPrefix: '/admin' }, policies: { jwt } }] };
    expect(serveWithPolicies(rt, upstream.url, spec)).toMatchObject({ ok: true });
    const refused = await h.call(rt, '/orders/admin/x', { headers: { host } });
    expect([refused.status, refused.headers['www-authenticate']]).toEqual([401, 'Bearer']);
    expect(await status('/orders/1')).toBe(200);
    const token = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://idp.example').setExpirationTime('5m').sign(privateKey);
    const passed = await h.call(rt, '/orders/admin/x', { headers: { host, authorization: `Bearer ${token}` } });
    // The API's rate limit, inherited, counts both requests that passed (the 401 never reached it).
    expect([passed.status, passed.headers['ratelimit-remaining']]).toEqual([200, '98']);
    expect(upstream.hits).toBe(2);
  });

  it('answer the CORS preflights of the part they give CORS to, and only those', async () => {
    const cors = { allowOrigins: ['https://app.example.com'], allowMethods: ['PUT'] };
    expect(serveWithPolicies(rt, upstream.url, { overrides: [{ match: { pathPrefix: '/admin' }, policies: { cors } }] }, 1, ['GET', 'PUT'])).toMatchObject({ ok: true });
    const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' };
    expect(await status('/orders/admin', 'OPTIONS', preflight)).toBe(204);
    expect(await status('/orders/1', 'OPTIONS', preflight)).toBe(404);
    expect(upstream.hits).toBe(0);
  });

  it('that the runtime cannot apply are NACKed with their field path, and the overrides in force stay', async () => {
    expect(serveWithPolicies(rt, upstream.url, adminLocked)).toMatchObject({ ok: true });
    const deny = policies({ ipAccess: { deny: ['127.0.0.0/8'] } });
    const broken = api('acme/orders', { hosts: [host], basePath: '/orders', policies: { overrides: [{ methods: ['POST'], pathPrefix: '/a/../b', policies: deny }] } });
    const outcome = rt.applyResponse(response('api', 2, { 'acme/orders': broken }));
    expect(outcome.ok === false && outcome.message).toContain("policies.overrides[0].match.pathPrefix: has a '.' or '..' segment");
    expect(await status('/orders/admin', 'POST')).toBe(403);
  });
});
