import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, expectStatus, inOrg } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

const cli = fileURLToPath(new URL('../../../controller/src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

/** 1,203 finished allocations of the default org, ten of them made in the same microsecond, and 20 of another org. */
const COUNT = 1_203;

describe('allocations are listed in pages, none lost past the first 500', () => {
  let db: TestDatabase;
  let admin: AdminController;
  /** Every id of the default org, newest first (ties: the larger id first). */
  let expected: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url);
    await createOrg(admin.base, 'other');
    for (const org of ['default', 'other']) {
      expectStatus(await call(admin.base, 'PUT', '/v1/gateway-pools/dedicated', { spec: { members: [] } }, inOrg(org)), `pool in ${org}`, 201);
    }
    // Finished allocations written as the allocator leaves them; made by hand so that there can be a thousand.
    const sql = postgres(db.url, { onnotice: () => undefined });
    const base = Date.parse('2026-11-01T00:00:00Z');
    const rows = Array.from({ length: COUNT }, (_, i) => {
      const id = `alc_${i.toString(16).padStart(16, '0')}`;
      // Ten made at the very same instant, in the middle of the second page.
      const at = i >= 600 && i < 610 ? new Date(base + 600_000).toISOString() : new Date(base + i * 1_000).toISOString();
      return { id, org_id: 'default', pool_name: 'dedicated', tenant: `t-${i}`, host: `t-${i}.example.test`, api_name: `alloc-${i}`, state: 'released', created_at: at };
    });
    const others = Array.from({ length: 20 }, (_, i) => ({ id: `alc_${(0xf000 + i).toString(16).padStart(16, '0')}`, org_id: 'other', pool_name: 'dedicated', tenant: `o-${i}`, host: `o-${i}.example.test`, api_name: `alloc-o-${i}`, state: 'released', created_at: new Date(base + i * 1_000).toISOString() }));
    await sql`INSERT INTO allocations ${sql([...rows, ...others])}`;
    await sql.end();
    expected = [...rows].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id)).map((r) => r.id);
  });

  afterAll(async () => {
    await admin?.close();
    await db?.drop();
  });

  async function allPages(query: string): Promise<{ ids: string[]; pages: number[] }> {
    const ids: string[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/v1/allocations?${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = expectStatus(await call(admin.base, 'GET', path), path, 200).body as { items: { id: string }[]; nextCursor: string | null };
      ids.push(...page.items.map((a) => a.id));
      pages.push(page.items.length);
      cursor = page.nextCursor;
    } while (cursor !== null && pages.length < 1_000);
    return { ids, pages };
  }

  it('pages of 500 by default hold every allocation once, newest first, and the last page says there is no next', async () => {
    const { ids, pages } = await allPages('');
    expect(pages).toEqual([500, 500, 203]);
    expect(ids).toEqual(expected);
    // A page that ends exactly at the last allocation is the last page.
    expect((await allPages('limit=401')).pages).toEqual([401, 401, 401]);
  });

  it('small pages split the allocations made in the same microsecond without skipping or repeating one', async () => {
    const { ids, pages } = await allPages('limit=7');
    expect(pages.length).toBe(Math.ceil(COUNT / 7));
    expect(ids).toEqual(expected);
  });

  it('a page keeps its filters, and another org sees only its own', async () => {
    const first = await call(admin.base, 'GET', '/v1/allocations?tenant=t-42');
    expect(first.body.items.map((a: { id: string }) => a.id)).toEqual([`alc_${(42).toString(16).padStart(16, '0')}`]);
    expect(first.body.nextCursor).toBeNull();
    const other = await call(admin.base, 'GET', '/v1/allocations?limit=500', undefined, inOrg('other'));
    expect(other.body.items).toHaveLength(20);
    expect(other.body.items.every((a: { tenant: string }) => a.tenant.startsWith('o-'))).toBe(true);
  });

  it('refuses a cursor it did not give and a limit out of range, naming the field', async () => {
    for (const [query, field] of [['cursor=not-a-cursor', 'cursor'], [`cursor=${Buffer.from('{"at":"2026-02-30T00:00:00Z","id":"alc_0000000000000001"}').toString('base64url')}`, 'cursor'], [`cursor=${Buffer.from('{"at":"0000-01-01T00:00:00Z","id":"alc_0000000000000001"}').toString('base64url')}`, 'cursor'], ['limit=0', 'limit'], ['limit=501', 'limit']] as const) {
      const answer = await call(admin.base, 'GET', `/v1/allocations?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code, query).toBe('invalid_argument');
      expect(JSON.stringify(answer.body.error.details), query).toContain(field);
    }
  });

  it('causeway get allocations lists all of them, reading every page', async () => {
    const { stdout } = await run(process.execPath, [cli, 'get', 'allocations', '-o', 'json'], { env: { ...process.env, CAUSEWAY_URL: admin.base, CAUSEWAY_TOKEN: TEST_TOKEN }, maxBuffer: 64 * 1024 * 1024 });
    const list = JSON.parse(stdout) as { items: { id: string }[]; nextCursor?: unknown };
    expect(list.items.map((a) => a.id)).toEqual(expected);
    expect(list.nextCursor).toBeUndefined();
  });
});
