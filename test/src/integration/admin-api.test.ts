import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController, loadControllerConfig, type Controller } from '@causeway/controller';
import { createLogger } from '@causeway/shared';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

describe('admin REST API', () => {
  let db: TestDatabase;
  let controller: Controller;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = loadControllerConfig({
      CAUSEWAY_DATABASE_URL: db.url,
      CAUSEWAY_ADMIN_TOKEN: TEST_TOKEN,
      CAUSEWAY_ADMIN_ADDR: '127.0.0.1:0',
      CAUSEWAY_XDS_ADDR: '127.0.0.1:0',
      CAUSEWAY_XDS_INSECURE: 'true',
    });
    controller = createController(config, { log: createLogger('controller', { level: 'silent' }) });
    await controller.start();
    base = `http://127.0.0.1:${controller.adminAddress.port}`;
  });

  afterAll(async () => {
    await controller.close();
    await db.drop();
  });

  it('requires the bearer token on every /v1 route', async () => {
    for (const path of ['/v1/apis', '/v1/gateways/x', '/v1/runtimes']) {
      const response = await call(base, 'GET', path, undefined, { token: null });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('unauthenticated');
    }
    expect((await call(base, 'GET', '/v1/apis', undefined, { token: 'wrong-token-wrong-token' })).status).toBe(401);
    expect((await call(base, 'GET', '/healthz', undefined, { token: null })).status).toBe(200);
  });

  it('creates, reads, updates and deletes, with revisions and ETags', async () => {
    const created = await call(base, 'PUT', '/v1/gateways/gw-a', { apiVersion: 'causeway/v1', kind: 'Gateway', metadata: { name: 'gw-a', labels: { team: 'orders' } }, spec: { url: 'http://127.0.0.1:7001' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('causeway-result')).toBe('created');
    const revision = created.body.metadata.revision as number;
    expect(created.headers.get('etag')).toBe(`"${revision}"`);

    const read = await call(base, 'GET', '/v1/gateways/gw-a');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ kind: 'Gateway', metadata: { name: 'gw-a', labels: { team: 'orders' }, revision }, spec: { url: 'http://127.0.0.1:7001', zone: 'default' } });

    const same = await call(base, 'PUT', '/v1/gateways/gw-a', read.body);
    expect(same.status).toBe(200);
    expect(same.headers.get('causeway-result')).toBe('unchanged');
    expect(same.body.metadata.revision).toBe(revision);

    const updated = await call(base, 'PUT', '/v1/gateways/gw-a', { spec: { url: 'http://127.0.0.1:7002' } }, { headers: { 'if-match': `"${revision}"` } });
    expect(updated.status).toBe(200);
    expect(updated.body.metadata.revision).toBeGreaterThan(revision);

    const stale = await call(base, 'PUT', '/v1/gateways/gw-a', { spec: { url: 'http://127.0.0.1:7003' } }, { headers: { 'if-match': `"${revision}"` } });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('precondition_failed');
    expect((await call(base, 'GET', '/v1/gateways/gw-a')).body.spec.url).toBe('http://127.0.0.1:7002');

    const list = await call(base, 'GET', '/v1/gateways');
    expect(list.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['gw-a']);

    const deleted = await call(base, 'DELETE', '/v1/gateways/gw-a', undefined, { headers: { 'content-type': 'application/json' } });
    expect(deleted.status).toBe(200);
    expect((await call(base, 'GET', '/v1/gateways/gw-a')).status).toBe(404);
    expect((await call(base, 'DELETE', '/v1/gateways/gw-a')).body.error).toEqual({ code: 'not_found', message: 'gateway "gw-a" does not exist' });
  });

  it('answers bad input with 400, the field, the value and the rule, and changes nothing', async () => {
    const revision = async () => (await controller.sql<{ revision: number }[]>`SELECT revision FROM config_state`)[0]?.revision;
    const before = await revision();
    const response = await call(base, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { pool: 'Orders' } } });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'invalid_argument',
      message: `spec.upstream.pool: "Orders" is not a slug (lowercase letters, digits, '-', max 32)`,
      details: [{ path: 'spec.upstream.pool', message: `"Orders" is not a slug (lowercase letters, digits, '-', max 32)` }],
    });
    const broken = await call(base, 'PUT', '/v1/apis/orders', '{"spec": ', {});
    expect(broken.status).toBe(400);
    expect(broken.body.error.details[0].path).toBe('(body)');
    const missing = await call(base, 'PUT', '/v1/apis/orders', { spec: { basePath: '/orders', upstream: { gateway: 'nope' } } });
    // Another org's resources are not there for this one: a missing reference is 404, with the field.
    expect(missing.status).toBe(404);
    expect(missing.body.error.details).toEqual([{ path: 'spec.upstream.gateway', message: 'gateway "nope" does not exist' }]);
    expect(await revision()).toBe(before);
    expect((await call(base, 'GET', '/v1/apis/orders')).status).toBe(404);
  });

  it('accepts YAML documents', async () => {
    const yaml = ['apiVersion: causeway/v1', 'kind: Gateway', 'metadata:', '  name: gw-yaml', 'spec:', '  url: http://127.0.0.1:7010', '  zone: eu-1'].join('\n');
    const response = await call(base, 'PUT', '/v1/gateways/gw-yaml', yaml, { contentType: 'application/yaml' });
    expect(response.status).toBe(201);
    expect(response.body.spec).toMatchObject({ url: 'http://127.0.0.1:7010', zone: 'eu-1' });
    const bad = await call(base, 'PUT', '/v1/gateways/gw-yaml', 'spec: [unclosed', { contentType: 'application/yaml' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^\(body\): is not valid YAML/);
  });

  it('answers 409 for a pool in use and for a base path already taken', async () => {
    await call(base, 'PUT', '/v1/gateways/gw-c', { spec: { url: 'http://127.0.0.1:7020' } });
    await call(base, 'PUT', '/v1/gateway-pools/pool-c', { spec: { members: ['gw-c'] } });
    expect((await call(base, 'PUT', '/v1/apis/catalog', { spec: { basePath: '/catalog', upstream: { pool: 'pool-c' } } })).status).toBe(201);
    const inUse = await call(base, 'DELETE', '/v1/gateway-pools/pool-c');
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toBe('gateway pool "pool-c" is still used by API "catalog"; change or delete them first');
    const clash = await call(base, 'PUT', '/v1/apis/catalog-2', { spec: { basePath: '/catalog', upstream: { pool: 'pool-c' } } });
    expect(clash.status).toBe(409);
    // Same base path on a distinct host is fine.
    expect((await call(base, 'PUT', '/v1/apis/catalog-3', { spec: { basePath: '/catalog', hosts: ['shop.example.com'], upstream: { pool: 'pool-c' } } })).status).toBe(201);
  });

  it('applies many documents as one write: one revision, all or nothing', async () => {
    const items = [
      { kind: 'Api', metadata: { name: 'bulk-orders' }, spec: { basePath: '/bulk-orders', upstream: { pool: 'bulk-pool' } } },
      { kind: 'GatewayPool', metadata: { name: 'bulk-pool' }, spec: { members: ['bulk-gw-1', 'bulk-gw-2'] } },
      { kind: 'Gateway', metadata: { name: 'bulk-gw-1' }, spec: { url: 'http://127.0.0.1:7101' } },
      { kind: 'Gateway', metadata: { name: 'bulk-gw-2' }, spec: { url: 'http://127.0.0.1:7102' } },
    ];
    // Listed in any order: what an item names is written first.
    const applied = await call(base, 'POST', '/v1/apply', { items });
    expect(applied.status).toBe(200);
    const revision = applied.body.revision as number;
    expect(applied.body.items).toEqual([
      { kind: 'Gateway', name: 'bulk-gw-1', result: 'created', revision },
      { kind: 'Gateway', name: 'bulk-gw-2', result: 'created', revision },
      { kind: 'GatewayPool', name: 'bulk-pool', result: 'created', revision },
      { kind: 'Api', name: 'bulk-orders', result: 'created', revision },
    ]);
    expect((await call(base, 'GET', '/v1/gateway-pools/bulk-pool')).body).toMatchObject({ metadata: { revision }, status: { memberCount: 2, usedByCount: 1 } });

    // The same again changes nothing and takes no revision.
    const again = await call(base, 'POST', '/v1/apply', { items });
    expect(again.body.revision).toBeNull();
    expect(again.body.items.map((i: { result: string }) => i.result)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);

    // One bad item (a pool that does not exist) fails the whole write: the good one is not written.
    const bad = await call(base, 'POST', '/v1/apply', {
      items: [
        { kind: 'Api', metadata: { name: 'bulk-broken' }, spec: { basePath: '/bulk-broken', upstream: { pool: 'no-such-pool' } } },
        { kind: 'Gateway', metadata: { name: 'bulk-gw-3' }, spec: { url: 'http://127.0.0.1:7103' } },
      ],
    });
    expect(bad.status).toBe(404);
    // Named by its place in the request, though the gateway was written before it.
    expect(bad.body.error.message).toBe('items[0] (API "bulk-broken"): spec.upstream.pool: gateway pool "no-such-pool" does not exist');
    expect(bad.body.error.details).toEqual([{ path: 'items[0].spec.upstream.pool', message: 'gateway pool "no-such-pool" does not exist' }]);
    expect((await call(base, 'GET', '/v1/gateways/bulk-gw-3')).status).toBe(404);
    expect((await call(base, 'GET', '/v1/gateways/bulk-gw-1')).body.metadata.revision).toBe(revision);

    // Invalid documents are all reported at once, with their index.
    const invalid = await call(base, 'POST', '/v1/apply', {
      items: [
        { metadata: { name: 'no-kind' }, spec: {} },
        { kind: 'Gateway', metadata: { name: 'Bad_Name' }, spec: { url: 'http://127.0.0.1:1' } },
        { kind: 'Gateway', metadata: { name: 'bulk-gw-1' }, spec: { url: 'http://127.0.0.1:7101' } },
        { kind: 'Gateway', metadata: { name: 'bulk-gw-1' }, spec: { url: 'http://127.0.0.1:7101' } },
      ],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((d: { path: string }) => d.path)).toEqual(['items[0].kind', 'items[1].metadata.name', 'items[3].metadata.name']);
    expect(invalid.body.error.details[2].message).toBe('Gateway "bulk-gw-1" is already items[2]');
    expect((await call(base, 'POST', '/v1/apply', { items: [] })).body.error.details).toEqual([{ path: 'items', message: 'has 0 documents; send 1 to 50000' }]);
    expect((await call(base, 'POST', '/v1/apply', {})).status).toBe(400);
  });

  it('checks the routes of applied APIs against each other and fails a large apply as a whole', async () => {
    await call(base, 'PUT', '/v1/gateways/route-gw', { spec: { url: 'http://127.0.0.1:7201' } });
    const api = (name: string, basePath: string, upstream: Record<string, string> = { gateway: 'route-gw' }) => ({ kind: 'Api', metadata: { name }, spec: { basePath, upstream } });
    expect((await call(base, 'POST', '/v1/apply', { items: [api('route-a', '/route-x'), api('route-b', '/route-y')] })).status).toBe(200);

    // Two APIs of one apply on the same base path: refused, naming the second.
    const clash = await call(base, 'POST', '/v1/apply', { items: [api('route-c', '/route-z'), api('route-d', '/route-z')] });
    expect(clash.status).toBe(409);
    expect(clash.body.error.message).toBe('items[1] (API "route-d"): base path "/route-z" is already served by API "route-c" for the same hosts and methods');

    // Swapping base paths in one apply is no conflict: what counts is the specs being written.
    const swapped = await call(base, 'POST', '/v1/apply', { items: [api('route-a', '/route-y'), api('route-b', '/route-x')] });
    expect(swapped.status).toBe(200);
    expect((await call(base, 'GET', '/v1/apis/route-a')).body.spec.basePath).toBe('/route-y');

    // One bad reference among 300 APIs: nothing of the 300 is written.
    const many = Array.from({ length: 300 }, (_, i) => api(`many-${i}`, `/many-${i}`, i === 217 ? { gateway: 'missing-gw' } : { gateway: 'route-gw' }));
    const refused = await call(base, 'POST', '/v1/apply', { items: many });
    expect(refused.status).toBe(404);
    expect(refused.body.error.details).toEqual([{ path: 'items[217].spec.upstream.gateway', message: 'gateway "missing-gw" does not exist' }]);
    const names = (await call(base, 'GET', '/v1/apis')).body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(names.filter((n: string) => n.startsWith('many-'))).toEqual([]);
    const accepted = await call(base, 'POST', '/v1/apply', { items: many.map((item, i) => (i === 217 ? api('many-217', '/many-217') : item)) });
    expect(accepted.status).toBe(200);
    expect(new Set(accepted.body.items.map((i: { revision: number }) => i.revision))).toEqual(new Set([accepted.body.revision]));
  });

  it('answers unknown routes and kinds with a JSON 404', async () => {
    const response = await call(base, 'GET', '/v1/widgets');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it('publishes its OpenAPI document', async () => {
    const response = await call(base, 'GET', '/v1/openapi.json', undefined, { token: null });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/v1/apis/{name}', '/v1/gateway-pools/{name}', '/v1/runtimes']));
  });
});
