import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, expectStatus, inOrg } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';

const names = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);

describe('lists by name come whole, or a page at a time with limit and cursor', () => {
  let db: TestDatabase;
  let admin: AdminController;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    await createOrg(admin.base, 'other');
    const items = [
      ...names('gw', 23).map((name, i) => ({ kind: 'Gateway', metadata: { name }, spec: { url: `http://127.0.0.1:${7000 + i}` } })),
      ...names('pool', 23).map((name) => ({ kind: 'GatewayPool', metadata: { name }, spec: { members: ['gw-00'] } })),
      ...names('api', 23).map((name) => ({ kind: 'Api', metadata: { name }, spec: { basePath: `/${name}`, upstream: { gateway: 'gw-00' } } })),
    ];
    expectStatus(await call(admin.base, 'POST', '/v1/apply', { items }), 'apply', 200);
    // Another org's, named to fall between ours: never on our pages.
    expectStatus(await call(admin.base, 'PUT', '/v1/gateways/gw-05x', { spec: { url: 'http://127.0.0.1:7999' } }, inOrg('other')), 'other org', 201);
  });

  afterAll(async () => {
    await admin?.close();
    await db?.drop();
  });

  async function walk(path: string, limit: number): Promise<{ names: string[]; sizes: number[] }> {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `${path}?limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = expectStatus(await call(admin.base, 'GET', url), url, 200).body as { items: { metadata: { name: string } }[]; nextCursor: string | null };
      seen.push(...page.items.map((i) => i.metadata.name));
      sizes.push(page.items.length);
      cursor = page.nextCursor;
    } while (cursor !== null && sizes.length < 100);
    return { names: seen, sizes };
  }

  for (const [path, prefix] of [['/v1/apis', 'api'], ['/v1/gateways', 'gw'], ['/v1/gateway-pools', 'pool']] as const) {
    it(`${path}: pages of 10 hold every item once, by name, and only this org's`, async () => {
      const { names: seen, sizes } = await walk(path, 10);
      expect(sizes).toEqual([10, 10, 3]);
      expect(seen).toEqual(names(prefix, 23));
    });
  }

  it('without limit answers every item and no next page, as before', async () => {
    const all = await call(admin.base, 'GET', '/v1/apis');
    expect(all.body.items).toHaveLength(23);
    expect(all.body.nextCursor).toBeNull();
    // A page that ends exactly at the end is the last one: no empty page after it.
    const { sizes } = await walk('/v1/apis', 23);
    expect(sizes).toEqual([23]);
  });

  it('refuses a limit out of range and a cursor it did not give, naming the field', async () => {
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=ten', 'limit'], ['cursor=%7Bnot', 'cursor'], [`cursor=${Buffer.from('{"after":5}').toString('base64url')}`, 'cursor'], [`cursor=${Buffer.from('{"after":"a\\u0000"}').toString('base64url')}`, 'cursor']] as const) {
      const answer = await call(admin.base, 'GET', `/v1/gateways?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code, query).toBe('invalid_argument');
      expect(JSON.stringify(answer.body.error.details), query).toContain(field);
    }
  });
});
