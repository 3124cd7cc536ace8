import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, issueToken, putRole } from '../harness/access.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess } from '../harness/processes.ts';

/** Two controller replicas on one database: what one is told, the other enforces within a second. */
describe('tokens across replicas', () => {
  let db: TestDatabase;
  let stack: Stack;
  let a: ControllerProcess;
  let b: ControllerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    a = await stack.controller({ databaseUrl: db.url, id: 'replica-a' });
    b = await stack.controller({ databaseUrl: db.url, id: 'replica-b' });
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  /** Milliseconds from `since` until `b` first answers `status` to the token, asking as often as it answers. */
  async function untilB(secret: string, status: number, since: number): Promise<number> {
    return eventually(async () => {
      const answer = await call(b.adminUrl, 'GET', '/v1/apis', undefined, { token: secret });
      if (answer.status !== status) throw new Error(`replica b answered ${answer.status}`);
      return performance.now() - since;
    }, { timeoutMs: 5_000, intervalMs: 5, message: () => stack.tails() });
  }

  it('a token revoked on replica a is refused by replica b within 1 s of the revoke answer', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const token = await issueToken(a.adminUrl, 'default', `ci-${i}`, 'viewer');
      await untilB(token.secret, 200, performance.now());
      const revoked = await call(a.adminUrl, 'DELETE', `/v1/tokens/${token.id}`);
      const answered = performance.now();
      expectStatus(revoked, 'revoke on a', 200);
      expect((await call(a.adminUrl, 'GET', '/v1/apis', undefined, { token: token.secret })).status).toBe(401);
      delays.push(await untilB(token.secret, 401, answered));
      // And it stays refused.
      expect((await call(b.adminUrl, 'GET', '/v1/apis', undefined, { token: token.secret })).status).toBe(401);
    }
    expect(Math.max(...delays)).toBeLessThan(1_000);
  });

  it('a role changed on replica a takes its permission away on replica b within 1 s', async () => {
    await putRole(a.adminUrl, 'default', 'reader', [{ subject: 'apis', actions: ['read'] }]);
    const token = await issueToken(a.adminUrl, 'default', 'reading', 'reader');
    await untilB(token.secret, 200, performance.now());
    await putRole(a.adminUrl, 'default', 'reader', [{ subject: 'gateways', actions: ['read'] }]);
    const answered = performance.now();
    expect(await untilB(token.secret, 403, answered)).toBeLessThan(1_000);
    // A token made on one replica works on the other without waiting for a reconcile interval.
    const fresh = await issueToken(a.adminUrl, 'default', 'fresh', 'viewer');
    expect(await untilB(fresh.secret, 200, performance.now())).toBeLessThan(1_000);
  });
});
