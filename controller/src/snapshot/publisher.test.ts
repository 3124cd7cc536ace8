import { describe, expect, it } from 'vitest';
import { createLogger } from '@causeway/shared';
import { validateDocument } from '../admin-api/validate.ts';
import { createControllerMetrics } from '../metrics.ts';
import type { EntityState, StoredRecord } from '../store/records.ts';
import { applyEntities, modelFromRecords, type Model } from '../sync/model.ts';
import { buildSnapshot, type Snapshot } from './build-snapshot.ts';
import { Publisher } from './publisher.ts';

const silent = createLogger('test', { level: 'silent' });

function record(doc: Record<string, unknown>, revision: number): StoredRecord {
  const valid = validateDocument(doc);
  const at = new Date(revision);
  return { kind: valid.kind, org: 'default', name: valid.name, labels: valid.labels, spec: valid.spec, revision, createdAt: at, updatedAt: at };
}

const gateway = (name: string, revision: number) => record({ kind: 'Gateway', metadata: { name }, spec: { url: `http://${name}.internal` } }, revision);
const api = (name: string, revision: number, upstream: string) => record({ kind: 'Api', metadata: { name }, spec: { basePath: `/${name}`, upstream: { gateway: upstream } } }, revision);
const change = (r: StoredRecord): EntityState => ({ kind: r.kind, org: r.org, name: r.name, record: r });

function versions(snapshot: Snapshot | undefined): Record<string, string[]> {
  if (snapshot === undefined) return {};
  return Object.fromEntries(Object.entries(snapshot.resources).map(([kind, set]) => [kind, [...set.values()].map((e) => `${e.name}@${e.version}`)]));
}

function publisher() {
  const catchUps: string[] = [];
  const metrics = createControllerMetrics();
  const follower = { databaseRevision: 12, committedAt: (revision: number) => revision * 1_000, requestCatchUp: async (reason: string) => void catchUps.push(reason) };
  // No hold-off: each update is published at once, so that each step can be looked at.
  const p = new Publisher({ follower, log: silent, metrics, holdoffMs: 0, maxDelayMs: 0 });
  const published: Snapshot[] = [];
  p.on('snapshot', (s) => published.push(s));
  return { p, published, metrics, catchUps };
}

describe('Publisher', () => {
  const first: Model = modelFromRecords(2, [gateway('gw-a', 1), api('orders', 2, 'gw-a')]);

  it('publishes a full build after a full load and builds only the changes after an update', () => {
    const { p, published } = publisher();
    expect(p.current(), 'nothing to serve before the first snapshot').toBeUndefined();
    p.modelChanged({ model: first, changed: undefined });
    expect(versions(p.current())).toEqual(versions(buildSnapshot(first)));

    const users = api('users', 3, 'gw-a');
    const second = applyEntities(first, 3, [change(users)]);
    p.modelChanged({ model: second, changed: [change(users)] });
    expect(published).toHaveLength(2);
    expect(versions(p.current())).toEqual(versions(buildSnapshot(second)));
    // Built on the first: streams that hold it look only at what changed.
    expect(p.current()?.base?.revision).toBe(2);
    expect([...(p.current()?.base?.changed.api ?? [])]).toEqual(['default/users']);
  });

  it('keeps serving the previous snapshot while the model is inconsistent, and catches up once it is not', async () => {
    const { p, published, metrics } = publisher();
    p.modelChanged({ model: first, changed: undefined });
    const broken = api('broken', 3, 'gw-missing');
    const inconsistent = applyEntities(first, 3, [change(broken)]);
    p.modelChanged({ model: inconsistent, changed: [change(broken)] });
    expect(published).toHaveLength(1);
    expect(p.current()?.revision).toBe(2);

    const gwMissing = gateway('gw-missing', 4);
    const repaired = applyEntities(inconsistent, 4, [change(gwMissing)]);
    p.modelChanged({ model: repaired, changed: [change(gwMissing)] });
    expect(versions(p.current()), 'the changes of the refused snapshot are not lost').toEqual(versions(buildSnapshot(repaired)));
    const builds = (await metrics.snapshotBuilds.get()).values.map((v) => `${v.labels.result}:${v.value}`).sort();
    expect(builds).toEqual(['inconsistent:1', 'ok:2']);
  });

  it('is the source of what it knows of revisions, and asks the follower for newer changes', () => {
    const { p, catchUps } = publisher();
    expect(p.databaseRevision()).toBe(12);
    expect(p.committedAt(3)).toBe(3_000);
    p.requestNewer();
    expect(catchUps).toEqual(['manual']);
  });
});
