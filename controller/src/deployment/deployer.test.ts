import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testScope } from '../testing/test-scope.ts';
import { createLogger } from '@causeway/shared';
import { validateDocument } from '../admin-api/validate.ts';
import { createControllerMetrics } from '../metrics.ts';
import { insertDeployment } from '../store/deployments.ts';
import type { ApiSpec } from '../store/records.ts';
import { ResourceStore } from '../store/resource-store.ts';
import { RuntimeStatusRecorder } from '../store/runtime-status-recorder.ts';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.ts';
import type { RuntimeStream } from '../xds-server/stream-callbacks.ts';
import { Deployer } from './deployer.ts';

const silent = createLogger('test', { level: 'silent' });
/** So long that a deployment that converges in time was woken by an announcement, not by the timer. */
const NO_POLL_MS = 60_000;

function apiSpec(gateway: string, requestMs = 15_000): ApiSpec {
  return validateDocument({ kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/orders', upstream: { gateway }, timeouts: { requestMs } } }).spec as ApiSpec;
}

describe('Deployer', () => {
  let db: TestDatabase;
  let store: ResourceStore;
  /** Records what runtimes streaming from replica A do, as its xDS server's callbacks. */
  let replicaA: RuntimeStatusRecorder;
  const deployers: Deployer[] = [];
  const rt1: RuntimeStream = { nodeId: 'rt-1', connectedAt: new Date(1_000) };
  const rt2: RuntimeStream = { nodeId: 'rt-2', connectedAt: new Date(2_000) };

  async function deployer(controllerId: string, statusPollMs = NO_POLL_MS, listen = true): Promise<Deployer> {
    const d = new Deployer({ sql: db.sql, controllerId, log: silent, statusPollMs });
    deployers.push(d);
    if (listen) await d.start();
    return d;
  }

  /** The next committed change: `revision` resolves with its revision (read, not told: a notification may come before a listener is in place). */
  async function nextRevision(): Promise<{ revision: Promise<number> }> {
    const current = async (): Promise<number> => (await db.sql<{ revision: number }[]>`SELECT revision FROM config_state`)[0]?.revision ?? 0;
    const before = await current();
    const revision = (async () => {
      for (;;) {
        const now = await current();
        if (now > before) return now;
        await sleep(10);
      }
    })();
    return { revision };
  }

  /** Runtime answers as a stream session reports them: each applied every API response up to `revision`. */
  function applied(revision: number, ...streams: RuntimeStream[]): void {
    for (const stream of streams) replicaA.onApiSettled(stream, revision);
  }

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new ResourceStore(db.sql, testScope());
    replicaA = new RuntimeStatusRecorder({ sql: db.sql, controllerId: 'replica-a', log: silent, metrics: createControllerMetrics() });
    for (const gateway of ['gw-1', 'gw-2']) await store.put('Gateway', gateway, {}, validateDocument({ kind: 'Gateway', metadata: { name: gateway }, spec: { url: 'http://10.0.0.1' } }).spec as never);
    for (const stream of [rt1, rt2]) replicaA.onStreamOpen(stream, { nodeId: stream.nodeId, zone: 'default', labels: {}, version: 'test', org: null, certificate: undefined }, 0);
    await replicaA.flush();
  });

  afterEach(async () => {
    for (const d of deployers.splice(0)) await d.close();
    await replicaA.flush();
    await db.drop();
  });

  it('waits until every runtime answered, woken by the answers recorded on another replica', async () => {
    const replicaB = await deployer('replica-b');
    const committed = await nextRevision();
    const waiting = replicaB.putAndWait(store, 'orders', {}, apiSpec('gw-1'), 20_000, false, undefined);
    const revision = await committed.revision;
    applied(revision, rt1);
    await replicaA.flush();
    applied(revision, rt2);
    const answeredAt = Date.now();
    const { put, report } = await waiting;

    expect(Date.now() - answeredAt, 'woken when the last answer was recorded, not at the deadline').toBeLessThan(5_000);
    expect(put.record.revision).toBe(revision);
    expect(report).toMatchObject({ outcome: 'converged', detail: `2 runtime(s) applied revision ${revision}` });
    expect(report.status.summary).toEqual({ total: 2, acked: 2, nacked: 0, pending: 0 });
  });

  it('still converges when no announcement arrives: it looks again on a timer', async () => {
    const deaf = await deployer('replica-b', 50, false);
    const committed = await nextRevision();
    const waiting = deaf.putAndWait(store, 'orders', {}, apiSpec('gw-1'), 20_000, false, undefined);
    applied(await committed.revision, rt1, rt2);
    const { report } = await waiting;
    expect(report.outcome).toBe('converged');
  });

  it('times out when a runtime does not answer, and keeps the revision without rollbackOnFailure', async () => {
    const replicaB = await deployer('replica-b');
    const committed = await nextRevision();
    const waiting = replicaB.putAndWait(store, 'orders', {}, apiSpec('gw-1'), 1_000, false, undefined);
    applied(await committed.revision, rt1);
    await replicaA.flush();
    const { put, report } = await waiting;

    expect(report).toMatchObject({ outcome: 'timed-out', detail: '1 of 2 runtime(s) did not answer in time' });
    expect(report.status.runtimes.map((r) => `${r.nodeId}:${r.state}`)).toEqual(['rt-1:acked', 'rt-2:pending']);
    expect((await store.get('Api', 'orders'))?.revision).toBe(put.record.revision);
  });

  it('rolls back to the previous revision when a runtime rejects the new one', async () => {
    const replicaB = await deployer('replica-b');
    const first = await store.put('Api', 'orders', {}, apiSpec('gw-1'));
    applied(first.record.revision, rt1, rt2);
    const committed = await nextRevision();
    const waiting = replicaB.putAndWait(store, 'orders', {}, apiSpec('gw-2', 60_000), 20_000, true, undefined);
    const revision = await committed.revision;
    replicaA.onResourceRejected(rt2, { kind: 'api', name: 'default/orders', version: revision, message: 'requestMs over the limit' });
    applied(revision, rt1, rt2);
    const { report } = await waiting;

    expect(report).toMatchObject({ outcome: 'rolled-back', restoredRevision: first.record.revision });
    expect(report.detail).toBe('1 runtime(s) rejected revision ' + revision + ': requestMs over the limit; rolled back');
    const current = await store.get('Api', 'orders');
    expect(current?.revision).toBe(report.rollbackRevision);
    expect(current?.spec).toEqual(first.record.spec);
  });

  it('finishes a deployment its replica abandoned: rolls back once, whichever replica does the chores', async () => {
    const first = await store.put('Api', 'orders', {}, apiSpec('gw-1'));
    // Replica A wrote the new revision and its deployment, then died instead of waiting (deadline long past).
    let deploymentId = 0;
    const second = await store.put('Api', 'orders', {}, apiSpec('gw-2', 60_000), {
      alsoDo: async (m, previous) => {
        deploymentId = await insertDeployment(m, { org: 'default', api: 'orders', previousRevision: previous?.revision ?? null, rollbackOnFailure: true, waitMs: -60_000, controllerId: 'replica-a' });
      },
    });
    replicaA.onResourceRejected(rt1, { kind: 'api', name: 'default/orders', version: second.record.revision, message: 'rejected' });
    applied(second.record.revision, rt1);
    await replicaA.flush();

    const [b, c] = [await deployer('replica-b'), await deployer('replica-c')];
    expect(await b.finishAbandoned()).toBe(1);
    expect(await c.finishAbandoned(), 'a finished deployment is not taken over again').toBe(0);

    const current = await store.get('Api', 'orders');
    expect(current?.spec).toEqual(first.record.spec);
    expect(current?.revision).toBeGreaterThan(second.record.revision);
    const [row] = await db.sql<{ state: string; rollback_revision: number }[]>`SELECT state, rollback_revision FROM deployments WHERE id = ${deploymentId}`;
    expect(row).toEqual({ state: 'rolled-back', rollback_revision: current?.revision });
  });
});
