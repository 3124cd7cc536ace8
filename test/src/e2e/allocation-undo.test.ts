import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, allocationEnv, answerHandshakes, handshakesSeen, poolCounts, poolOf, stepLog } from '../harness/allocations.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess, type UpstreamProcess } from '../harness/processes.ts';

/** Undos that fail: retried with backoff, and one that never succeeds ends `failed` with its gateway quarantined. */
describe('allocation undos that fail', () => {
  let db: TestDatabase;
  let stack: Stack;
  let flaky: ControllerProcess;
  let broken: ControllerProcess;
  let upstream: UpstreamProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    [flaky, broken] = await Promise.all([
      // The route's undo fails its first two attempts.
      stack.controller({ databaseUrl: db.url, id: 'flaky', env: allocationEnv(2_000, { CAUSEWAY_FAILPOINTS: 'allocation.undo-route=2*error' }) }),
      // Taking the handshake back never succeeds.
      stack.controller({ databaseUrl: db.url, id: 'broken', env: allocationEnv(2_000, { CAUSEWAY_FAILPOINTS: 'allocation.undo-handshake=error' }) }),
    ]);
    upstream = await stack.upstream('up-1');
    await poolOf(flaky.adminUrl, 'shop', [upstream]);
    await stack.runtime({ controllers: [flaky.xdsAddress, broken.xdsAddress] });
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  it('retries an undo that fails twice, and the release then completes', async () => {
    const ready = await allocate(flaky.adminUrl, 'shop', 'acme');
    expect(ready.status, ready.text).toBe(201);
    const released = await call(flaky.adminUrl, 'DELETE', `/v1/allocations/${String(ready.body.id)}`);
    expect(released.status, released.text).toBe(200);
    expect(released.body.state).toBe('released');
    expect(stepLog(released.body).slice(4)).toEqual(['undo handshake:done', 'undo route:done', 'undo reserve:done']);
    const undoRoute = released.body.steps.find((s: { step: string; direction: string }) => s.step === 'route' && s.direction === 'undo');
    expect(undoRoute).toMatchObject({ attempts: 3, error: null });
    expect(flaky.output.filter((l) => l.includes('"msg":"allocation undo failed; retrying"'))).toHaveLength(2);
    expect(await poolCounts(flaky.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 });
  });

  it('ends failed with the gateway quarantined and an error-level log when an undo never succeeds', async () => {
    const ready = await allocate(broken.adminUrl, 'shop', 'bolt');
    expect(ready.status, ready.text).toBe(201);
    const id = String(ready.body.id);
    const released = await call(broken.adminUrl, 'DELETE', `/v1/allocations/${id}`);
    expect(released.status, released.text).toBe(200);
    expect(released.body.state).toBe('failed');
    // What failed was internal to this replica: its log says what, the answer does not.
    expect(released.body.error).toEqual({ code: 'internal', message: 'internal error' });
    expect(await broken.logLine('allocation undo failed; giving up')).toMatchObject({ step: 'handshake', attempt: 4, err: { message: 'failpoint allocation.undo-handshake' } });
    // The other undos still ran: the route is gone and the reservation undone.
    expect(stepLog(released.body).slice(4)).toEqual(['undo handshake:failed', 'undo route:done', 'undo reserve:done']);
    expect(released.body.steps[4]).toMatchObject({ attempts: 4 });

    const line = await broken.logLine('allocation failed; gateway quarantined');
    // Level 50: error.
    expect(line).toMatchObject({ level: 50, allocation: id, gateway: 'gw-up-1', failed: ['handshake'] });
    expect(await poolCounts(broken.adminUrl, 'shop')).toEqual({ freeCount: 0, allocatedCount: 0, quarantinedCount: 1 });
    const metrics = await call(broken.adminUrl, 'GET', '/metrics', undefined, { token: null });
    expect(metrics.text).toMatch(/causeway_controller_allocations_total\{outcome="failed"\} 1/);
    const audit = await call(broken.adminUrl, 'GET', `/v1/audit-events?resource=allocation/${id}&action=allocation.failed`);
    expect(audit.body.items).toHaveLength(1);

    // Quarantined: not handed out.
    const refused = await allocate(flaky.adminUrl, 'shop', 'next');
    expect(refused.status, refused.text).toBe(503);
    expect(refused.body.error.message).toBe('no free healthy gateway in pool "shop"; 1 quarantined');

    // The operator's way out: release it again on a replica whose undo works; the undo that failed runs again.
    const retried = await call(flaky.adminUrl, 'DELETE', `/v1/allocations/${id}`);
    expect(retried.body.state).toBe('released');
    expect(stepLog(retried.body).slice(7)).toEqual(['undo handshake:done']);
    expect((await handshakesSeen(upstream)).filter((h) => h.body?.allocation === id).map((h) => h.method)).toEqual(['POST', 'DELETE']);
    expect(await poolCounts(flaky.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 });
  });

  it('hands a quarantined gateway out again once it is seen healthy', async () => {
    await answerHandshakes(upstream, { delete: 'fail' });
    try {
      const ready = await allocate(flaky.adminUrl, 'shop', 'cargo');
      expect(ready.status, ready.text).toBe(201);
      // Every attempt of the handshake's undo is answered 500.
      const released = await call(flaky.adminUrl, 'DELETE', `/v1/allocations/${String(ready.body.id)}`);
      expect(released.body.state).toBe('failed');
      expect(await poolCounts(flaky.adminUrl, 'shop')).toEqual({ freeCount: 0, allocatedCount: 0, quarantinedCount: 1 });
    } finally {
      await answerHandshakes(upstream, { delete: 'ok' });
    }
    // A heartbeat after the quarantine began: healthy again, so free again.
    await call(flaky.adminUrl, 'POST', '/v1/gateways/gw-up-1/heartbeat');
    await eventually(async () => expect(await poolCounts(flaky.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 }));
    const again = await allocate(broken.adminUrl, 'shop', 'next');
    expect(again.status, again.text).toBe(201);
    expect(again.body.gateway).toBe('gw-up-1');
  });
});
