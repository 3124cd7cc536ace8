import { describe, expect, it } from 'vitest';
import { unpack } from '@causeway/shared';
import { ApiSchema, ClusterSchema, LbPolicy } from '@causeway/shared/gen/causeway/config/v1/config_pb.js';
import { validateDocument } from '../admin-api/validate.ts';
import type { EntityState, Kind, StoredRecord } from '../store/records.ts';
import { applyEntities, emptyModel, modelFromRecords } from '../sync/model.ts';
import { buildSnapshot, checkSnapshot, emptySnapshot, updateSnapshot, type Snapshot } from './build-snapshot.ts';

let clock = 0;
function record<K extends Kind>(doc: Record<string, unknown>, revision: number, org = 'default'): StoredRecord<K> {
  const valid = validateDocument(doc);
  clock++;
  return { kind: valid.kind as K, org: valid.kind === 'Zone' ? '' : org, name: valid.name, labels: valid.labels, spec: valid.spec as never, revision, createdAt: new Date(clock), updatedAt: new Date(clock) };
}

const gwA = record({ kind: 'Gateway', metadata: { name: 'gw-a' }, spec: { url: 'http://10.0.0.1', zone: 'eu-1' } }, 1);
const gwB = record({ kind: 'Gateway', metadata: { name: 'gw-b' }, spec: { url: 'http://10.0.0.2', zone: 'eu-2' } }, 2);
const pool = record({ kind: 'GatewayPool', metadata: { name: 'pool' }, spec: { members: ['gw-a', 'gw-b'] } }, 3);
const orders = record({ kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/orders', upstream: { pool: 'pool' }, loadBalancing: 'round-robin' } }, 4);
const users = record({ kind: 'Api', metadata: { name: 'users' }, spec: { basePath: '/users', upstream: { gateway: 'gw-a' } } }, 5);
const zone = record({ kind: 'Zone', metadata: { name: 'eu-1' }, spec: { dtcUrl: 'http://eu-1.example' } }, 6);

describe('buildSnapshot', () => {
  const model = modelFromRecords(6, [gwA, gwB, pool, orders, users, zone]);

  it('makes one cluster per used upstream and versions everything by revision', () => {
    const snapshot = buildSnapshot(model);
    expect(snapshot.revision).toBe(6);
    const versions = (kind: 'api' | 'cluster' | 'zone') => Object.fromEntries([...snapshot.resources[kind].values()].map((e) => [e.name, e.version]));
    expect(versions('api')).toEqual({ 'default/orders': '4', 'default/users': '5' });
    // A pool cluster's version is the newest of the pool and its members.
    expect(versions('cluster')).toEqual({ 'default/pool/pool': '3', 'default/gateway/gw-a': '1' });
    expect(versions('zone')).toEqual({ 'eu-1': '6' });
    expect(checkSnapshot(snapshot, model)).toEqual([]);
  });

  it('encodes APIs and clusters with what runtimes need', () => {
    const snapshot = buildSnapshot(model);
    const entry = snapshot.resources.api.get('default/orders');
    const api = entry === undefined ? undefined : unpack(ApiSchema, entry.resource);
    expect(api).toMatchObject({ name: 'default/orders', basePath: '/orders', cluster: 'default/pool/pool', upstreamLabel: 'pool/pool', lbPolicy: LbPolicy.ROUND_ROBIN, stripBasePath: true });
    const clusterEntry = snapshot.resources.cluster.get('default/pool/pool');
    const cluster = clusterEntry === undefined ? undefined : unpack(ClusterSchema, clusterEntry.resource);
    expect(cluster?.members.map((m) => [m.name, m.url, m.zone])).toEqual([
      ['gw-a', 'http://10.0.0.1', 'eu-1'],
      ['gw-b', 'http://10.0.0.2', 'eu-2'],
    ]);
  });

  it('leaves out clusters no API uses', () => {
    const withoutUsers = applyEntities(model, 7, [{ kind: 'Api', org: 'default', name: 'users', record: undefined }]);
    expect([...buildSnapshot(withoutUsers).resources.cluster.keys()]).toEqual(['default/pool/pool']);
  });

  it('bumps a pool cluster when a member gateway changes, and re-encodes only that', () => {
    const first = buildSnapshot(model);
    const movedB = record<'Gateway'>({ kind: 'Gateway', metadata: { name: 'gw-b' }, spec: { url: 'http://10.0.0.3:80' } }, 7);
    const next = buildSnapshot(applyEntities(model, 7, [{ kind: 'Gateway', org: 'default', name: 'gw-b', record: movedB }]), first);
    expect(next.resources.cluster.get('default/pool/pool')?.version).toBe('7');
    expect(next.resources.api.get('default/orders')).toBe(first.resources.api.get('default/orders'));
    expect(next.resources.cluster.get('default/gateway/gw-a')).toBe(first.resources.cluster.get('default/gateway/gw-a'));
  });

  it('lists what changed since the snapshot it was built on', () => {
    const first = buildSnapshot(model);
    const movedB = record<'Gateway'>({ kind: 'Gateway', metadata: { name: 'gw-b' }, spec: { url: 'http://10.0.0.3:80' } }, 7);
    const next = buildSnapshot(
      applyEntities(model, 7, [
        { kind: 'Gateway', org: 'default', name: 'gw-b', record: movedB },
        { kind: 'Api', org: 'default', name: 'users', record: undefined },
      ]),
      first,
    );
    expect(next.base?.revision).toBe(6);
    expect([...(next.base?.changed.cluster ?? [])].sort()).toEqual(['default/gateway/gw-a', 'default/pool/pool']);
    expect([...(next.base?.changed.api ?? [])]).toEqual(['default/users']);
    expect([...(next.base?.changed.zone ?? [])]).toEqual([]);
  });

  it('reports an API whose cluster is missing as inconsistent', () => {
    const broken = applyEntities(model, 7, [{ kind: 'GatewayPool', org: 'default', name: 'pool', record: undefined }]);
    expect(checkSnapshot(buildSnapshot(broken), broken)).toEqual([
      'API "default/orders" uses cluster "default/pool/pool", which is not in the snapshot',
    ]);
  });

  it('keeps orgs apart', () => {
    const other = record<'Api'>({ kind: 'Api', metadata: { name: 'orders' }, spec: { basePath: '/x', upstream: { gateway: 'gw-a' } } }, 8, 'acme');
    const gw = record<'Gateway'>({ kind: 'Gateway', metadata: { name: 'gw-a' }, spec: { url: 'http://acme:80' } }, 8, 'acme');
    const both = modelFromRecords(8, [gwA, gwB, pool, orders, other, gw]);
    const snapshot = buildSnapshot(both);
    expect([...snapshot.resources.api.keys()].sort()).toEqual(['acme/orders', 'default/orders']);
    expect([...snapshot.resources.cluster.keys()].sort()).toEqual(['acme/gateway/gw-a', 'default/pool/pool']);
  });
});

describe('updateSnapshot', () => {
  /** A small deterministic generator, so that a failure can be replayed. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state / 2_147_483_648;
    };
  }

  function randomChange(next: () => number, revision: number): EntityState {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const org = pick(['default', 'acme']);
    const kind = pick(['Api', 'Api', 'Api', 'Gateway', 'Gateway', 'GatewayPool', 'Zone', 'Consumer'] as const);
    const gateways = ['g0', 'g1', 'g2', 'g3'];
    const pools = ['p0', 'p1', 'p2'];
    const name = kind === 'Api' ? pick(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']) : kind === 'Gateway' ? pick(gateways) : kind === 'GatewayPool' ? pick(pools) : kind === 'Consumer' ? pick(['c0', 'c1']) : pick(['z0', 'z1']);
    if (next() < 0.2) return { kind, org: kind === 'Zone' ? '' : org, name, record: undefined };
    const spec =
      kind === 'Api'
        ? { basePath: `/${name}`, upstream: next() < 0.5 ? { gateway: pick(gateways) } : { pool: pick(pools) }, timeouts: { requestMs: 1_000 + revision }, ...(next() < 0.5 && { policies: { apiKey: {} } }) }
        : kind === 'Gateway'
          ? { url: `http://10.0.0.${Math.floor(next() * 250)}:80`, zone: pick(['eu-1', 'eu-2']) }
          : kind === 'GatewayPool'
            ? { members: gateways.filter(() => next() < 0.5) }
            : kind === 'Consumer'
              ? { description: `r${revision}` }
              : { dtcUrl: `http://${name}.example`, failoverPriority: revision % 100 };
    const stored = record({ kind, metadata: { name }, spec }, revision, org);
    // A consumer's record carries the digests of its live keys (a key change is a change of it).
    const keyed = kind === 'Consumer' ? { ...stored, keyDigests: [new Uint8Array(32).fill(revision % 256)] } : stored;
    return { kind, org: stored.org, name, record: keyed };
  }

  const view = (snapshot: Snapshot) => ({
    resources: Object.fromEntries(
      (['cluster', 'zone', 'api'] as const).map((kind) => [kind, Object.fromEntries([...snapshot.resources[kind]].sort(([a], [b]) => a.localeCompare(b)).map(([n, e]) => [n, [e.version, Buffer.from(e.encoded).toString('base64')]]))]),
    ),
    changed: Object.fromEntries((['cluster', 'zone', 'api'] as const).map((kind) => [kind, [...(snapshot.base?.changed[kind] ?? [])].sort()])),
    clusterUsers: [...snapshot.clusterUsers].sort(([a], [b]) => a.localeCompare(b)),
  });

  it.each([1, 2, 3, 4, 5])('gives what a full build gives, over 300 random changes (seed %i)', (seed) => {
    const next = random(seed);
    let model = emptyModel;
    let built = { model: emptyModel, snapshot: emptySnapshot };
    let pending: EntityState[] = [];
    for (let revision = 1; revision <= 300; revision++) {
      const change = randomChange(next, revision);
      model = applyEntities(model, revision, [change]);
      pending.push(change);
      // As the controller does: changes pile up until a build (several per build at times).
      if (next() < 0.4) continue;
      const full = buildSnapshot(model, built.snapshot);
      const incremental = updateSnapshot(built.model, model, built.snapshot, pending);
      expect(view(incremental), `revision ${revision}`).toEqual(view(full));
      const problems = checkSnapshot(incremental, model);
      expect(problems).toEqual(checkSnapshot(full, model));
      // An inconsistent snapshot is not taken: the next build starts from the one before.
      if (problems.length === 0) {
        built = { model, snapshot: incremental };
        pending = [];
      }
    }
  });
});
