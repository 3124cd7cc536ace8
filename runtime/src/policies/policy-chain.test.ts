import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { formatAddress } from '@causeway/shared';
import type { Runtime } from '../runtime.ts';
import { hopHeader, signHop } from '../proxy/hop-marker.ts';
import { api, response, testHopKey, zone } from '../testing/resources.ts';
import { RuntimeHarness, type EchoUpstream } from '../testing/runtime-harness.ts';
import { host, policies, serveWithPolicies } from '../testing/policy-apis.ts';
import { closedPort } from '../testing/servers.ts';

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

function call(path = '/orders/1', options: Parameters<RuntimeHarness['call']>[2] = {}) {
  return h.call(rt, path, { ...options, headers: { host, ...(options.headers as Record<string, string> | undefined) } });
}

describe('rate limits', () => {
  it('lets exactly `requests` through per window, with RateLimit headers, then 429 with Retry-After; each key has its own budget', async () => {
    expect(serveWithPolicies(rt, upstream.url, { rateLimit: { requests: 3, per: 'minute', by: 'header:x-client' } })).toMatchObject({ ok: true });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await call('/orders/1', { headers: { 'x-client': 'a' } }));
    expect(answers.map((a) => [a.status, a.headers['ratelimit-limit'], a.headers['ratelimit-remaining']])).toEqual([
      [200, '3', '2'],
      [200, '3', '1'],
      [200, '3', '0'],
      [429, '3', '0'],
    ]);
    const refused = answers[3]!;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(19); // one request every 20 s
    expect(JSON.parse(refused.text).error.code).toBe('too_many_requests');
    expect(upstream.hits).toBe(3);
    expect((await call('/orders/1', { headers: { 'x-client': 'b' } })).status).toBe(200);
  });

  it('keeps the buckets when the API changes but its limit does not', async () => {
    serveWithPolicies(rt, upstream.url, { rateLimit: { requests: 1, per: 'hour', by: 'api' } });
    expect((await call()).status).toBe(200);
    expect(serveWithPolicies(rt, upstream.url, { rateLimit: { requests: 1, per: 'hour', by: 'api' }, responseHeaders: { set: { 'x-v': '2' } } }, 2)).toMatchObject({ ok: true });
    expect((await call()).status).toBe(429);
  });
});

describe('headers', () => {
  it('sets, adds and removes request and response headers, with the request id in a template', async () => {
    const spec = {
      requestHeaders: { set: { 'x-env': 'prod', 'x-trace': 'rid=${requestId}' }, add: { 'x-tag': 'gw' }, remove: ['cookie'] },
      responseHeaders: { set: { 'x-frame-options': 'DENY' }, remove: ['content-type'] },
    };
    expect(serveWithPolicies(rt, upstream.url, spec)).toMatchObject({ ok: true });
    const answer = await call('/orders/1', { headers: { 'x-env': 'dev', cookie: 'session=1', 'x-request-id': 'req-7' } });
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.text).headers;
    expect(seen).toMatchObject({ 'x-env': 'prod', 'x-trace': 'rid=req-7', 'x-tag': 'gw' });
    expect(seen.cookie).toBeUndefined();
    expect(answer.headers['x-frame-options']).toBe('DENY');
    expect(answer.headers['content-type']).toBeUndefined();
  });

  it("keeps the runtime's own error answer to one content-type: a 503 gets CORS and RateLimit headers, not responseHeaders", async () => {
    const spec = {
      responseHeaders: { set: { 'content-type': 'text/html', 'x-frame-options': 'DENY' } },
      cors: { allowOrigins: ['https://app.example.com'] },
      rateLimit: { requests: 10, per: 'minute', by: 'api' },
    };
    expect(serveWithPolicies(rt, `http://127.0.0.1:${await closedPort()}`, spec)).toMatchObject({ ok: true });
    const failed = await call('/orders/1', { headers: { origin: 'https://app.example.com' } });
    expect(failed.status).toBe(503);
    expect(failed.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(failed.text).error.code).toBe('no_healthy_upstream');
    expect(failed.headers['x-frame-options']).toBeUndefined();
    expect(failed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(failed.headers['ratelimit-remaining']).toBe('9');
  });
});

describe('CORS', () => {
  const cors = { cors: { allowOrigins: ['https://app.example.com', 'https://*.shop.example'], allowMethods: ['GET', 'PUT'], allowHeaders: ['authorization'], maxAgeSeconds: 60 } };

  it('answers a preflight itself, for an API that does not list OPTIONS, and adds CORS headers to the actual response', async () => {
    expect(serveWithPolicies(rt, upstream.url, cors, 1, ['GET', 'PUT'])).toMatchObject({ ok: true });
    const preflight = await call('/orders/1', { method: 'OPTIONS', headers: { origin: 'https://eu.shop.example', 'access-control-request-method': 'PUT' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'https://eu.shop.example',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'authorization',
      'access-control-max-age': '60',
    });
    const refused = await call('/orders/1', { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'PUT' } });
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(upstream.hits).toBe(0);

    const actual = await call('/orders/1', { headers: { origin: 'https://app.example.com' } });
    expect(actual.status).toBe(200);
    expect(actual.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(actual.headers.vary).toContain('origin');
    const foreign = await call('/orders/1', { headers: { origin: 'https://evil.example' } });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('body size and IP lists', () => {
  it('refuses a body over the API limit with 413, declared or streamed, before or while it goes upstream', async () => {
    expect(serveWithPolicies(rt, upstream.url, { maxRequestBodyBytes: 100 })).toMatchObject({ ok: true });
    expect((await call('/orders/1', { method: 'POST', body: 'x'.repeat(100) })).status).toBe(200);
    const declared = await call('/orders/1', { method: 'POST', body: 'x'.repeat(101) });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text).error.code).toBe('payload_too_large');
    const hits = upstream.hits;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 5; i++) yield Buffer.alloc(50, 'y');
    }
    const res = await request(`http://${formatAddress(rt.proxyAddress)}/orders/1`, { method: 'POST', headers: { host }, body: Readable.from(chunks()), dispatcher: h.agent });
    await res.body.text();
    expect(res.statusCode).toBe(413);
    expect(upstream.hits).toBe(hits);
  });

  it('refuses a denied address, and one not on the allow list', async () => {
    expect(serveWithPolicies(rt, upstream.url, { ipAccess: { allow: ['127.0.0.0/8'], deny: ['127.0.0.1'] } })).toMatchObject({ ok: true });
    const denied = await call();
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text).error).toMatchObject({ code: 'permission_denied', message: 'the client address is not allowed' });
    serveWithPolicies(rt, upstream.url, { ipAccess: { allow: ['10.0.0.0/8', '::1'] } }, 2);
    expect((await call()).status).toBe(403);
    serveWithPolicies(rt, upstream.url, { ipAccess: { allow: ['10.0.0.0/8', '127.0.0.0/8'] } }, 3);
    expect((await call()).status).toBe(200);
    expect(upstream.hits).toBe(1);
  });
});

describe('the client a policy judges', () => {
  it("is, for a request another zone's runtime forwarded, the address that runtime saw; a client's own X-Forwarded-For is not trusted", async () => {
    rt.applyResponse(response('zone', 1, { 'eu-2': zone('eu-2', 'http://127.0.0.1:1') }));
    expect(serveWithPolicies(rt, upstream.url, { ipAccess: { deny: ['203.0.113.0/24'] } })).toMatchObject({ ok: true });
    const forwardedFor = '198.51.100.1, 203.0.113.7';
    expect((await call('/orders/1', { headers: { 'x-forwarded-for': forwardedFor } })).status).toBe(200);
    const marker = signHop(testHopKey, 'eu-2', Math.floor(Date.now() / 1000), 'GET', '/orders/1');
    const hopped = await call('/orders/1', { headers: { 'x-forwarded-for': forwardedFor, [hopHeader]: marker } });
    expect(hopped.status).toBe(403);
  });
});

describe('a policy the runtime cannot apply', () => {
  it('is NACKed with the field and rule, and the policy in force keeps being enforced', async () => {
    expect(serveWithPolicies(rt, upstream.url, { ipAccess: { deny: ['127.0.0.0/8'] } })).toMatchObject({ ok: true });
    expect((await call()).status).toBe(403);
    const broken = api('acme/orders', {
      hosts: [host],
      basePath: '/orders',
      policies: { rateLimit: policies({ rateLimit: { requests: 5, per: 'second' } }).rateLimit, ipAccess: { allow: ['10.0.0.0/33'] } },
    });
    const outcome = rt.applyResponse(response('api', 2, { 'acme/orders': broken }));
    expect(outcome).toMatchObject({ ok: false });
    expect(outcome.ok === false && outcome.message).toContain('api "acme/orders": policies.ipAccess.allow[0]: "10.0.0.0/33" is not an IP address or CIDR');
    const badKeys = api('acme/orders', {
      hosts: [host],
      basePath: '/orders',
      policies: { jwt: { issuers: [{ issuer: 'https://idp', jwksJson: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}' }], clockSkewSeconds: 30 } },
    });
    const second = rt.applyResponse(response('api', 3, { 'acme/orders': badKeys }));
    expect(second.ok === false && second.message).toContain('policies.jwt.issuers[0].jwks.keys[0]: kty "oct" is not RSA, EC or OKP');
    expect((await call()).status).toBe(403);
    expect(upstream.hits).toBe(0);
  });
});
