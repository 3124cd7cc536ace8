import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { formatAddress } from '@causeway/shared';
import type { Runtime } from '../runtime.ts';
import { response } from '../testing/resources.ts';
import { RuntimeHarness, type EchoUpstream } from '../testing/runtime-harness.ts';
import { host, serveWithPolicies, until } from '../testing/policy-apis.ts';
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

function call(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return h.call(rt, path, { method, headers: { host, ...headers } });
}

/** The series of a counter as `label=value,…` → count, the ones with a value only. */
async function series(metric: 'denials' | 'jwksFetches'): Promise<Record<string, number>> {
  const { values } = await rt.metrics.policies[metric].get();
  return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [Object.values(v.labels).join(','), v.value]));
}

describe('causeway_runtime_policy_denials_total', () => {
  it('counts each refusal by API, policy and reason, not the requests that pass, and drops the series when the API goes', async () => {
    const spec = { cors: { allowOrigins: ['https://app.example.com'] }, rateLimit: { requests: 1, per: 'hour', by: 'api' }, maxRequestBodyBytes: 10 };
    expect(serveWithPolicies(rt, upstream.url, spec)).toMatchObject({ ok: true });
    expect((await call('/orders/1')).status).toBe(200);
    expect((await call('/orders/1')).status).toBe(429);
    expect((await call('/orders/1')).status).toBe(429);
    expect((await call('/orders/1', { origin: 'https://evil.example', 'access-control-request-method': 'GET' }, 'OPTIONS')).status).toBe(403);
    expect((await call('/orders/1', { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }, 'OPTIONS')).status).toBe(403);
    expect((await h.call(rt, '/orders/1', { method: 'POST', headers: { host }, body: 'x'.repeat(11) })).status).toBe(413);
    expect(await series('denials')).toEqual({
      'acme/orders,rate_limit,spent': 2,
      'acme/orders,cors,origin': 1,
      'acme/orders,cors,method': 1,
      'acme/orders,body_size,too_large': 1,
    });
    rt.applyResponse(response('api', 2, {}, ['acme/orders']));
    expect(await series('denials')).toEqual({});
  });

  it("counts a streamed body cut at the API's limit as a body_size denial, and one cut at the runtime's limit as none", async () => {
    const small = await h.runtime({ CAUSEWAY_MAX_REQUEST_BODY_BYTES: '50' });
    for (const runtime of [rt, small]) expect(serveWithPolicies(runtime, upstream.url, { maxRequestBodyBytes: 100 })).toMatchObject({ ok: true });
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 5; i++) yield Buffer.alloc(50, 'y');
    }
    for (const runtime of [rt, small]) {
      const res = await request(`http://${formatAddress(runtime.proxyAddress)}/orders/1`, { method: 'POST', headers: { host }, body: Readable.from(chunks()), dispatcher: h.agent });
      await res.body.text();
      expect(res.statusCode).toBe(413);
    }
    expect(await series('denials')).toEqual({ 'acme/orders,body_size,too_large': 1 });
    expect((await small.metrics.policies.denials.get()).values.filter((v) => v.value > 0)).toEqual([]);
  });

  it('names the reason of a JWT refusal, never the token', async () => {
    const spec = { jwt: { issuers: [{ issuer: 'https://idp.example', jwksUri: `http://127.0.0.1:${await closedPort()}/keys` }] } };
    expect(serveWithPolicies(rt, upstream.url, spec)).toMatchObject({ ok: true });
    const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const foreign = `${part({ alg: 'RS256', kid: 'k1' })}.${part({ iss: 'https://other.example', exp: 4102444800 })}.c2ln`;
    expect((await call('/orders/1')).status).toBe(401);
    expect((await call('/orders/1', { authorization: 'Bearer not-a-token' })).status).toBe(401);
    expect((await call('/orders/1', { authorization: 'Basic dTpw' })).status).toBe(401);
    expect((await call('/orders/1', { authorization: `Bearer ${foreign}` })).status).toBe(401);
    const counted = await series('denials');
    expect(counted).toEqual({ 'acme/orders,jwt,missing': 1, 'acme/orders,jwt,malformed': 2, 'acme/orders,jwt,issuer': 1 });
    expect((await rt.metrics.registry.metrics()).includes(foreign)).toBe(false);
  });
});

describe('causeway_runtime_jwks_fetches_total', () => {
  it('counts fetches of JWKS URLs by outcome: ok, a status other than 200, not a key set, unreachable', async () => {
    const idp = await h.upstream((req, res) => {
      if (req.url === '/keys') res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      else if (req.url === '/broken') res.writeHead(500).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('not json');
    });
    const issuers = [
      { issuer: 'https://a.example', jwksUri: `${idp.url}/keys` },
      { issuer: 'https://b.example', jwksUri: `${idp.url}/broken` },
      { issuer: 'https://c.example', jwksUri: `${idp.url}/junk` },
      { issuer: 'https://d.example', jwksUri: `http://127.0.0.1:${await closedPort()}/keys` },
    ];
    expect(serveWithPolicies(rt, upstream.url, { jwt: { issuers } })).toMatchObject({ ok: true });
    const expected = { ok: 1, status: 1, invalid: 1, unreachable: 1 };
    await until(async () => Object.keys(await series('jwksFetches')).length === 4);
    expect(await series('jwksFetches')).toEqual(expected);
  });
});
