import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../harness/access.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess, type RuntimeProcess } from '../harness/processes.ts';

/** API keys of consumers, end to end: made at the controller, checked by a runtime process by digest only. */
describe('consumers and API keys', () => {
  let db: TestDatabase;
  let stack: Stack;
  let controller: ControllerProcess;
  let runtime: RuntimeProcess;
  const base = (): string => controller.adminUrl;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    controller = await stack.controller({ databaseUrl: db.url, env: { CAUSEWAY_LOG_LEVEL: 'trace' } });
    const upstream = await stack.upstream('orders-1');
    expectStatus(await call(base(), 'PUT', '/v1/gateways/gw-1', { spec: { url: upstream.url } }), 'gateway', 201);
    expectStatus(await call(base(), 'PUT', '/v1/consumers/shop', { metadata: { labels: { team: 'web' } }, spec: { description: 'the web shop' } }), 'consumer', 201);
    expectStatus(await call(base(), 'PUT', '/v1/consumers/partner', { spec: {} }), 'consumer', 201);
    const policies = { apiKey: { in: 'header', name: 'x-api-key' }, rateLimit: { requests: 3, per: 'hour', by: 'consumer' }, requestHeaders: { set: { 'x-who': 'c=${consumer}' } } };
    expectStatus(await call(base(), 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'gw-1' }, policies } }), 'api', 201);
    const query = { apiKey: { in: 'query', name: 'api_key' } };
    expectStatus(await call(base(), 'PUT', '/v1/apis/search', { spec: { basePath: '/search', upstream: { gateway: 'gw-1' }, policies: query } }), 'api', 201);
    runtime = await stack.runtime({ controllers: [controller.xdsAddress], env: { CAUSEWAY_LOG_LEVEL: 'trace' } });
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => call(runtime.proxyUrl, 'GET', path, undefined, { token: null, headers });

  it('forwards the consumer of a valid key, refuses a wrong one with 401, and counts the rate limit per consumer', async () => {
    const made = expectStatus(await call(base(), 'POST', '/v1/consumers/shop/keys', { name: 'web' }), 'key', 201);
    const key: string = made.body.secret;
    expect(key).toMatch(/^cwk_/);
    const other: string = expectStatus(await call(base(), 'POST', '/v1/consumers/partner/keys', {}), 'key', 201).body.secret;
    const ok = await eventually(async () => {
      const answer = await get('/orders/1', { 'x-api-key': key, 'x-consumer': 'someone-else' });
      expect(answer.status).toBe(200);
      return answer;
    }, { message: () => stack.tails() });
    // The runtime says who it is; the client's own claim is dropped.
    expect(ok.body.headers['x-consumer']).toBe('shop');
    expect(ok.headers.get('ratelimit-remaining')).toBe('2');

    const wrong = await get('/orders/1', { 'x-api-key': `${key.slice(0, -2)}AA` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthenticated');
    expect(wrong.headers.get('www-authenticate')).toBe('ApiKey header="x-api-key", error="invalid_key"');
    const missing = await get('/orders/1');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('ApiKey header="x-api-key"');

    // Each consumer has its own budget of 3 an hour.
    for (let i = 0; i < 2; i++) expect((await get('/orders/1', { 'x-api-key': key })).status).toBe(200);
    expect((await get('/orders/1', { 'x-api-key': key })).status).toBe(429);
    expect((await get('/orders/1', { 'x-api-key': other })).status).toBe(200);

    const listed = expectStatus(await call(base(), 'GET', '/v1/consumers/shop/keys'), 'list', 200);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: made.body.id, name: 'web', revokedAt: null })]);
    expect(listed.text).not.toContain(key);
  });

  it('a revoked key is refused by the runtime within 1 s of the revoke answer', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const made = expectStatus(await call(base(), 'POST', '/v1/consumers/partner/keys', { name: `k-${i}` }), 'key', 201);
      await eventually(async () => expect((await get(`/search/x?api_key=${made.body.secret}`)).status).toBe(200), { message: () => stack.tails() });
      expectStatus(await call(base(), 'DELETE', `/v1/consumers/partner/keys/${made.body.id}`), 'revoke', 200);
      const answered = performance.now();
      delays.push(await eventually(async () => {
        expect((await get(`/search/x?api_key=${made.body.secret}`)).status).toBe(401);
        return performance.now() - answered;
      }, { timeoutMs: 5_000, intervalMs: 5, message: () => stack.tails() }));
    }
    expect(Math.max(...delays)).toBeLessThan(1_000);
    const audit = expectStatus(await call(base(), 'GET', '/v1/audit-events?resource=consumer'), 'audit', 200);
    const actions = new Set((audit.body.items as { action: string }[]).map((e) => e.action));
    for (const action of ['consumer.create', 'consumer.key-create', 'consumer.key-revoke']) expect(actions).toContain(action);
  });

  it('a key in the query never reaches the upstream, and no key reaches a log', async () => {
    const made = expectStatus(await call(base(), 'POST', '/v1/consumers/shop/keys', { name: 'query' }), 'key', 201);
    const secret: string = made.body.secret;
    const answer = await eventually(async () => {
      const a = await get(`/search/x?a=1&api_key=${secret}&b=2`);
      expect(a.status).toBe(200);
      return a;
    }, { message: () => stack.tails() });
    expect(answer.body.query).toBe('?a=1&b=2');
    expect(answer.body.headers['x-consumer']).toBe('shop');
    expect((await get(`/search/x?api_key=${secret}x`)).status).toBe(401);
    const output = [...controller.output, ...runtime.output].join('\n');
    expect(output).not.toContain(secret);
    expect(output).not.toContain(secret.slice(4));
  });
});
