import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, allocationEnv, handshakesSeen, poolCounts, poolOf, stepLog, tenantRequest } from '../harness/allocations.ts';
import { createTestDatabase, type TestDatabase } from '../harness/database.ts';
import { eventually } from '../harness/eventually.ts';
import { call } from '../harness/http.ts';
import { Stack, type ControllerProcess, type RuntimeProcess, type UpstreamProcess } from '../harness/processes.ts';

const LEASE_MS = 1_500;

/**
 * The replica running an allocation dies (SIGKILL at a failpoint) after each step: the
 * other replica finds the expired lease and rolls back what was done, within 2 × lease,
 * without running any forward step again (ARCHITECTURE.md §9).
 */
describe('allocation after a crash', () => {
  let db: TestDatabase;
  let stack: Stack;
  let keeper: ControllerProcess;
  let runtime: RuntimeProcess;
  let upstream: UpstreamProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = new Stack();
    // Started first, so it holds the chores lock: the replica that takes dead work over.
    keeper = await stack.controller({ databaseUrl: db.url, id: 'keeper', env: allocationEnv(LEASE_MS) });
    upstream = await stack.upstream('up-1');
    await poolOf(keeper.adminUrl, 'shop', [upstream]);
    runtime = await stack.runtime({ controllers: [keeper.xdsAddress], nodeId: 'r1' });
  });

  afterAll(async () => {
    await stack.close();
    await db.drop();
  });

  /** A replica that dies at `point`, the request it was serving cut off. */
  async function doomed(point: string): Promise<ControllerProcess> {
    return stack.controller({ databaseUrl: db.url, id: `doomed-${point.replace('allocation.', '')}`, env: allocationEnv(LEASE_MS, { CAUSEWAY_FAILPOINTS: `${point}=exit` }) });
  }

  async function diedDuring(work: Promise<unknown>, replica: ControllerProcess): Promise<number> {
    await expect(work).rejects.toThrow();
    await eventually(() => expect(replica.running).toBe(false));
    return performance.now();
  }

  async function allocationOf(tenant: string) {
    const list = await call(keeper.adminUrl, 'GET', `/v1/allocations?tenant=${tenant}`);
    expect(list.body.items).toHaveLength(1);
    return list.body.items[0];
  }

  it.each([
    ['allocation.after-reserve', ['do reserve:done', 'undo reserve:done']],
    ['allocation.after-route', ['do reserve:done', 'do route:done', 'undo route:done', 'undo reserve:done']],
    ['allocation.after-converge', ['do reserve:done', 'do route:done', 'do converge:done', 'undo route:done', 'undo reserve:done']],
    ['allocation.after-handshake', ['do reserve:done', 'do route:done', 'do converge:done', 'do handshake:done', 'undo handshake:done', 'undo route:done', 'undo reserve:done']],
  ])('rolls back within 2 × lease when the replica dies at %s', async (point, steps) => {
    const replica = await doomed(point);
    const tenant = `t-${point.replace('allocation.after-', '')}`;
    const died = await diedDuring(allocate(replica.adminUrl, 'shop', tenant), replica);

    const allocation = await eventually(async () => {
      const a = await allocationOf(tenant);
      expect(a.state).toBe('rolled-back');
      return a;
    }, { timeoutMs: 4 * LEASE_MS, intervalMs: 20, message: () => stack.tails() });
    const tookMs = performance.now() - died;
    expect(tookMs, `rolled back after ${Math.round(tookMs)} ms`).toBeLessThan(2 * LEASE_MS);

    expect(stepLog(allocation)).toEqual(steps);
    // The forward steps are the dead replica's; the undos the keeper's, which ran no step forward.
    for (const step of allocation.steps) expect(step.controller).toBe(step.direction === 'do' ? replica.id : 'keeper');
    expect(allocation.error).toEqual({ code: 'unavailable', message: `controller "${replica.id}" stopped during the allocation; rolled back by "keeper"` });
    expect(await poolCounts(keeper.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 });
    expect((await call(keeper.adminUrl, 'GET', `/v1/apis/${String(allocation.api)}`)).status).toBe(404);
    await eventually(async () => expect((await tenantRequest(runtime, tenant)).status).toBe(404), { message: () => stack.tails() });
    const handshakes = (await handshakesSeen(upstream)).filter((h) => h.body?.allocation === allocation.id).map((h) => h.method);
    expect(handshakes).toEqual(point === 'allocation.after-handshake' ? ['POST', 'DELETE'] : []);
  });

  it('finishes a release whose replica died in the middle of it', async () => {
    const ready = await allocate(keeper.adminUrl, 'shop', 'leaving');
    expect(ready.status, ready.text).toBe(201);
    await eventually(async () => expect((await tenantRequest(runtime, 'leaving')).upstream).toBe('up-1'));
    const replica = await doomed('allocation.undo-route');
    const died = await diedDuring(call(replica.adminUrl, 'DELETE', `/v1/allocations/${String(ready.body.id)}`), replica);

    const allocation = await eventually(async () => {
      const a = await allocationOf('leaving');
      expect(a.state).toBe('released');
      return a;
    }, { timeoutMs: 4 * LEASE_MS, intervalMs: 20, message: () => stack.tails() });
    expect(performance.now() - died).toBeLessThan(2 * LEASE_MS);
    // The dead replica took the handshake back and was cut off in the route's undo; the keeper carried on from there.
    expect(stepLog(allocation).slice(4)).toEqual(['undo handshake:done', 'undo route:failed', 'undo route:done', 'undo reserve:done']);
    expect(allocation.steps.slice(-2).map((s: { controller: string }) => s.controller)).toEqual(['keeper', 'keeper']);
    expect(await poolCounts(keeper.adminUrl, 'shop')).toEqual({ freeCount: 1, allocatedCount: 0, quarantinedCount: 0 });
    await eventually(async () => expect((await tenantRequest(runtime, 'leaving')).status).toBe(404));
  });
});
