import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { issueToken, type IssuedToken } from '../harness/access.ts';
import { startAdminController, type AdminController } from '../harness/admin-controller.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { TEST_TOKEN } from '../harness/processes.ts';

const PER_SECOND = 5;
const wrong = `cw_${'x'.repeat(54)}`;

describe('failed authentications are slowed per source, counted, and cannot fill the audit log', () => {
  let db: TestDatabase;
  let admin: AdminController;
  let viewer: IssuedToken;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = await startAdminController(db.url, { CAUSEWAY_ADMIN_AUTH_FAILURES_PER_SECOND: String(PER_SECOND) });
    viewer = await issueToken(admin.base, 'default', 'looker', 'viewer');
  });

  afterAll(async () => {
    await admin.close();
    await db.drop();
  });

  async function counted(reason: string): Promise<number> {
    const text = (await call(admin.base, 'GET', '/metrics', undefined, { token: null })).text;
    const line = text.split('\n').find((l) => l.startsWith(`causeway_controller_admin_auth_failures_total{reason="${reason}"}`));
    return Number(line?.split(' ').at(-1) ?? 0);
  }

  /** Refusal events left by one source address, by outcome. */
  async function refusalEvents(source: string): Promise<Record<string, number>> {
    const rows = await admin.controller.sql<{ outcome: string; n: number }[]>`
      SELECT outcome, count(*)::int AS n FROM audit_events WHERE outcome <> 'ok' AND source = ${source} GROUP BY outcome`;
    return Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
  }

  it('answers 429 with Retry-After past the limit, to the right token too, and lets it in again after the wait', async () => {
    const statuses: number[] = [];
    const retryAfter: string[] = [];
    for (let i = 0; i < 40; i++) {
      const answer = await call(admin.base, 'GET', '/v1/apis', undefined, { token: wrong });
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter.push(answer.headers.get('retry-after') ?? '');
        expect(answer.body.error.code).toBe('too_many_requests');
      }
    }
    // A burst of twice the rate, then refusals.
    expect(statuses.slice(0, PER_SECOND * 2)).toEqual(Array(PER_SECOND * 2).fill(401));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
    expect(retryAfter.every((r) => /^[1-9]\d*$/.test(r))).toBe(true);
    // A guess that happens to be right is slowed like the wrong ones: 429 tells nothing.
    expect((await call(admin.base, 'GET', '/v1/apis')).status).toBe(429);
    expect(await counted('unauthenticated')).toBeGreaterThanOrEqual(PER_SECOND * 2);
    expect(await counted('throttled')).toBeGreaterThanOrEqual(21);

    // Another source address is not slowed by this one's failures.
    const elsewhere = new Pool(admin.base, { localAddress: '127.0.0.2' });
    const answer = await elsewhere.request({ method: 'GET', path: '/v1/apis', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    await answer.body.dump();
    expect(answer.statusCode).toBe(200);
    await elsewhere.close();

    await eventually(async () => {
      const again = await call(admin.base, 'GET', '/v1/apis');
      if (again.status !== 200) throw new Error(`still ${again.status}`);
    }, { timeoutMs: 5_000, intervalMs: 250 });
  });

  it('records a flood of 2,000 refused requests (wrong tokens, and permission denials) as a handful of audit events', async () => {
    /** `count` requests from `source`, 50 at a time; the statuses they got. */
    const flood = async (source: string, count: number, authorization: string, method: string, path: string): Promise<Record<number, number>> => {
      const pool = new Pool(admin.base, { connections: 16, localAddress: source });
      const statuses: Record<number, number> = {};
      for (let i = 0; i < count; i += 50) {
        const batch = Array.from({ length: Math.min(50, count - i) }, async () => {
          const body = method === 'PUT' ? JSON.stringify({ spec: { url: 'http://127.0.0.1:7001' } }) : null;
          const response = await pool.request({ method, path, headers: { authorization, 'content-type': 'application/json' }, body });
          await response.body.dump();
          return response.statusCode;
        });
        for (const status of await Promise.all(batch)) statuses[status] = (statuses[status] ?? 0) + 1;
      }
      await pool.close();
      return statuses;
    };
    const deniedBefore = await counted('denied');
    expect(await flood('127.0.0.3', 1_000, `Bearer ${viewer.secret}`, 'PUT', '/v1/gateways/gw-x')).toEqual({ 403: 1_000 });
    const refused = await flood('127.0.0.4', 1_000, `Bearer ${wrong}`, 'GET', '/v1/apis');
    expect((refused[401] ?? 0) + (refused[429] ?? 0)).toBe(1_000);
    expect(refused[429]).toBeGreaterThan(900);
    expect((await counted('denied')) - deniedBefore).toBe(1_000);
    // Written beside the answers: wait until they are there, then count them.
    const denied = await eventually(async () => {
      const found = await refusalEvents('127.0.0.3');
      if (found.denied === undefined) throw new Error('no denial recorded yet');
      return found;
    });
    const unauthenticated = await eventually(async () => {
      const found = await refusalEvents('127.0.0.4');
      if (found.unauthenticated === undefined) throw new Error('no failed authentication recorded yet');
      return found;
    });
    expect(denied).toEqual({ denied: expect.any(Number) });
    expect(unauthenticated).toEqual({ unauthenticated: expect.any(Number) });
    expect(denied.denied).toBeLessThanOrEqual(5);
    expect(unauthenticated.unauthenticated).toBeLessThanOrEqual(5);
    const [first] = await admin.controller.sql<{ detail: string }[]>`SELECT changes::text AS detail FROM audit_events WHERE source = '127.0.0.3' ORDER BY id LIMIT 1`;
    expect(first?.detail).toContain('needs gateways:create');
  });
});
